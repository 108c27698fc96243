import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assessRisk, RiskReason, type RiskInput } from './risk.assessor';

const base: RiskInput = { tier: 'staging', privilege: 'read', ttlSeconds: 900, role: { id: 'r', provider: 'jwt' } };
const sut = assessRisk;

describe('assessRisk', () => {
  it.each([
    ['staging read', {}, 'low', []],
    ['dev write', { tier: 'dev', privilege: 'write' }, 'low', [RiskReason.Elevated]],
    ['production read', { tier: 'production' }, 'medium', [RiskReason.Production]],
    [
      'production write',
      { tier: 'production', privilege: 'write' },
      'medium',
      [RiskReason.Elevated, RiskReason.Production],
    ],
    [
      'production admin',
      { tier: 'production', privilege: 'admin' },
      'high',
      [RiskReason.Elevated, RiskReason.Production],
    ],
    ['long-lived staging read', { ttlSeconds: 8 * 3600 }, 'medium', [RiskReason.LongLived]],
  ] as const)('%s → %s', (_name, over, level, reasons) => {
    const risk = sut({ ...base, ...over });
    expect(risk.level).toBe(level);
    expect(risk.reasons).toEqual(reasons);
  });

  it('assesses the Terraform example plan in test/fixtures as critical with the expected reasons', () => {
    const plan = readFileSync(join(__dirname, '../../../test/fixtures/terraform-prod-plan.txt'), 'utf8');
    const risk = sut({
      tier: 'production',
      privilege: 'write',
      ttlSeconds: 900,
      role: { id: 'tf', provider: 'gcp' },
      context: { plan },
    });
    expect(risk.level).toBe('critical');
    expect(risk.reasons).toEqual([
      RiskReason.Elevated,
      RiskReason.Production,
      RiskReason.ServiceImpact,
      RiskReason.Security,
      'Terraform plan: 3 to add, 0 to change, 0 to destroy',
      'Changes IAM: google_project_iam_member.agent_editor',
      'Grants a broad role: roles/editor',
      'Changes kubernetes_deployment.checkout in Kubernetes namespace production',
    ]);
  });

  it.each([
    [
      'terraform destroy',
      '  # aws_db_instance.main will be destroyed\nPlan: 0 to add, 0 to change, 1 to destroy.',
      'Terraform destroys aws_db_instance.main',
    ],
    [
      'terraform replace',
      '  # aws_instance.web must be replaced\nPlan: 1 to add, 0 to change, 1 to destroy.',
      'Terraform replaces aws_instance.web',
    ],
    [
      'summary-only destroy',
      'Plan: 0 to add, 0 to change, 2 to destroy.',
      'Terraform plan: 0 to add, 0 to change, 2 to destroy',
    ],
    [
      'kubectl delete',
      'kubectl -n production delete deployment checkout',
      'kubectl delete: kubectl -n production delete deployment checkout',
    ],
    [
      'kubectl scale to zero',
      'kubectl scale deploy/api --replicas=0',
      'kubectl scales to zero: kubectl scale deploy/api --replicas=0',
    ],
    ['SQL DROP', 'DROP TABLE users;', 'SQL DROP TABLE users'],
    ['SQL TRUNCATE', 'truncate table orders', 'SQL TRUNCATE TABLE orders'],
    ['SQL DELETE without WHERE', 'DELETE FROM sessions;', 'SQL DELETE without WHERE on sessions'],
  ])('recognises %s as a service impact', (_name, plan, detail) => {
    const risk = sut({ ...base, tier: 'production', privilege: 'write', context: { plan } });
    expect(risk.reasons).toEqual(expect.arrayContaining([RiskReason.ServiceImpact, detail]));
    expect(['high', 'critical']).toContain(risk.level);
  });

  it.each([
    ['SQL DELETE with WHERE', 'DELETE FROM sessions WHERE expires_at < now();'],
    ['a commented DROP', '-- DROP TABLE users\nSELECT 1;'],
    ['kubectl get', 'kubectl get pods -n production'],
    [
      'a plan that only adds a bucket',
      '  # google_storage_bucket.b will be created\nPlan: 1 to add, 0 to change, 0 to destroy.',
    ],
  ])('does not flag %s', (_name, plan) => {
    const risk = sut({ ...base, context: { plan } });
    expect(risk.reasons).not.toContain(RiskReason.ServiceImpact);
    expect(risk.reasons).not.toContain(RiskReason.Security);
    expect(risk.level).toBe('low');
  });

  it('flags IAM role bindings as a security risk', () => {
    const plan =
      '  # kubernetes_cluster_role_binding.agent will be created\n  # aws_iam_policy.x will be updated in-place';
    const risk = sut({ ...base, context: { plan } });
    expect(risk.reasons).toEqual(
      expect.arrayContaining([
        RiskReason.Security,
        'Changes IAM: kubernetes_cluster_role_binding.agent',
        'Changes IAM: aws_iam_policy.x',
      ]),
    );
  });
});
