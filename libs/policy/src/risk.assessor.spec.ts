import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { assessRisk, rank, RiskReason, type RiskInput } from './risk.assessor';

const ROOT = join(__dirname, '../../..');
const base: RiskInput = { tier: 'staging', privilege: 'read', ttlSeconds: 900, role: { id: 'r', provider: 'jwt' } };
const prodWrite: RiskInput = { ...base, tier: 'production', privilege: 'write' };
const sut = assessRisk;
const BRIEF_REASONS = [RiskReason.Elevated, RiskReason.Production, RiskReason.ServiceImpact, RiskReason.Security];

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

  it("rates the design brief's HCL change critical with the four reasons and findings naming resource and line", () => {
    const plan = readFileSync(join(ROOT, 'deploy/examples/brief-plan.tf'), 'utf8');
    const risk = sut({ ...prodWrite, role: { id: 'tf', provider: 'gcp' }, context: { plan } });
    expect(risk.level).toBe('critical');
    expect(risk.reasons.slice(0, 4)).toEqual(BRIEF_REASONS);
    expect(risk.reasons).toEqual(
      expect.arrayContaining([
        'google_project_iam_member.deployer_editor grants the broad role roles/editor to serviceAccount:deployer@acme-prod.iam.gserviceaccount.com (line 6)',
        'kubernetes_deployment.api is in Kubernetes namespace production (line 21)',
        'google_storage_bucket.customer_exports can be destroyed with its data (force_destroy) (line 15)',
      ]),
    );
    expect(risk.reasons).not.toContain(RiskReason.NotUnderstood);
    expect(risk.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          source: 'terraform-hcl',
          resource: 'google_project_iam_member.deployer_editor',
          line: 6,
          field: 'plan',
        }),
      ]),
    );
  });

  it('rates the same change as `terraform plan` output critical with the four reasons', () => {
    const plan = readFileSync(join(ROOT, 'test/fixtures/terraform-prod-plan.txt'), 'utf8');
    const risk = sut({ ...prodWrite, context: { plan } });
    expect(risk.level).toBe('critical');
    expect(risk.reasons.slice(0, 4)).toEqual(BRIEF_REASONS);
    expect(risk.reasons).toEqual(
      expect.arrayContaining([
        'Terraform plan: 3 to add, 0 to change, 0 to destroy (line 40)',
        'google_project_iam_member.agent_editor grants the broad role roles/editor to serviceAccount:deploy-bot@acme-prod.iam.gserviceaccount.com (line 13)',
        'kubernetes_deployment.checkout is in Kubernetes namespace production (line 32)',
      ]),
    );
  });

  it('reads fenced blocks of a Markdown plan at their own lines', () => {
    const plan =
      'I will clean up the old sessions table.\n\n```sql\nSELECT count(*) FROM sessions;\nDELETE FROM sessions;\n```\n';
    const risk = sut({ ...prodWrite, context: { plan } });
    expect(risk.reasons).toContain('SQL DELETE without WHERE on sessions (line 5)');
    expect(risk.level).toBe('high');
  });

  it('reads the command field as shell and says which line of the command', () => {
    const risk = sut({
      ...prodWrite,
      context: { command: 'kubectl get pods -n production\nkubectl -n production delete deploy/checkout' },
    });
    expect(risk.reasons).toEqual(
      expect.arrayContaining(['kubectl delete deploy/checkout in namespace production (command line 2)']),
    );
  });

  describe('a plan that is present but not understood', () => {
    it.each([
      ['prose', 'Update the API deployment and give the deployer more rights.'],
      ['a truncated HCL file', 'resource "google_project_iam_member" "x" {\n  role = "roles/editor"\n'],
      ['a broken plan JSON', '{"format_version": "1.2", "resource_changes": ['],
      ['an unknown script', './migrate-prod.sh --apply'],
    ])('%s says so and is at least high in production, even for a read role', (_name, plan) => {
      for (const privilege of ['read', 'write'] as const) {
        const risk = sut({ ...prodWrite, privilege, context: { plan } });
        expect(risk.reasons).toContain(RiskReason.NotUnderstood);
        expect(rank(risk.level)).toBeGreaterThanOrEqual(rank('high'));
      }
    });

    it('says so outside production too, without lowering the level', () => {
      const risk = sut({ ...base, tier: 'dev', context: { plan: 'make the checkout service faster' } });
      expect(risk.reasons).toEqual([RiskReason.NotUnderstood]);
      expect(rank(risk.level)).toBeGreaterThanOrEqual(rank(sut({ ...base, tier: 'dev' }).level));
    });
  });

  it('never lowers the level: any plan or command text rates at least as high as none (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('dev', 'staging', 'production'),
        fc.constantFrom('read', 'write', 'admin'),
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.constantFrom(
            'DROP TABLE users;',
            'kubectl get pods',
            'resource "a" "b" {}',
            '{"resource_changes": []}',
            'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}',
          ),
        ),
        fc.boolean(),
        (tier, privilege, text, asCommand) => {
          const plain = sut({ ...base, tier, privilege });
          const withText = sut({ ...base, tier, privilege, context: asCommand ? { command: text } : { plan: text } });
          expect(rank(withText.level)).toBeGreaterThanOrEqual(rank(plain.level));
          for (const r of plain.reasons) {
            expect(withText.reasons).toContain(r);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each([
    ['SQL DELETE with WHERE', 'DELETE FROM sessions WHERE expires_at < now();'],
    ['a commented DROP', '-- DROP TABLE users\nSELECT 1;'],
    ['kubectl get', 'kubectl get pods -n staging'],
    [
      'a plan that only adds a bucket',
      '  # google_storage_bucket.b will be created\nPlan: 1 to add, 0 to change, 0 to destroy.',
    ],
  ])('does not flag %s', (_name, plan) => {
    const risk = sut({ ...base, context: { plan } });
    expect(risk.reasons).not.toContain(RiskReason.ServiceImpact);
    expect(risk.reasons).not.toContain(RiskReason.Security);
    expect(risk.reasons).not.toContain(RiskReason.NotUnderstood);
    expect(risk.level).toBe('low');
  });
});
