import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Principal } from '@leash/core';
import { parsePolicy } from './policy.loader';
import { evaluateRequest } from './policy.evaluator';
import { PolicyError } from './policy.errors';

const demoPath = join(__dirname, '../../../deploy/examples/demo-policy.yaml');
const demo = parsePolicy(readFileSync(demoPath, 'utf8'), demoPath);
const agent: Principal = { id: 'agent-42', issuer: 'dev', groups: [] };

describe('evaluateRequest with the demo policy', () => {
  it('auto-approves staging read for agent-* principals', () => {
    const sut = evaluateRequest(demo, {
      principal: agent,
      role: 'demo-staging-read',
      environment: 'staging',
      ttlSeconds: 60,
    });
    expect(sut.decision).toBe('auto_approved');
  });

  it('routes production write to prod-approvers with one approval', () => {
    const sut = evaluateRequest(demo, { principal: agent, role: 'demo-prod-write', environment: 'production' });
    expect(sut).toMatchObject({
      decision: 'needs_approval',
      ttlSeconds: 600,
      approval: { kind: 'quorum', requirements: [{ groups: ['prod-approvers'], quorum: 1 }] },
    });
  });

  it.each([
    [{ role: 'nope', environment: 'staging' }, 'unknown role'],
    [{ role: 'demo-staging-read', environment: 'moon' }, 'unknown environment'],
    [{ role: 'demo-staging-read', environment: 'production' }, 'does not serve'],
    [{ role: 'demo-staging-read', environment: 'staging', ttlSeconds: 3601 }, 'exceeds the maximum'],
    [{ role: 'demo-staging-read', environment: 'staging', ttlSeconds: 4 }, 'below'],
  ])('denies %p (%s)', (input, reason) => {
    const sut = evaluateRequest(demo, { principal: agent, ...input });
    expect(sut.decision).toBe('denied');
    expect(sut.reasons.join(' ')).toContain(reason);
  });

  it('denies principals outside the role, never clamping', () => {
    const human: Principal = { id: 'alice', issuer: 'dev', groups: ['prod-approvers'] };
    const sut = evaluateRequest(demo, { principal: human, role: 'demo-staging-read', environment: 'staging' });
    expect(sut.decision).toBe('denied');
  });
});

describe('parsePolicy', () => {
  it('names the file, line and reason of each problem', () => {
    const text =
      'issuers:\n  - name: dev\n    devIssuer: true\n    audience: leash\nenvironments:\n  prod:\n    tier: production\n    maxTtl: forever\nroles:\n  - id: r\n    provider: jwt\n    environments: [prod, nowhere]\n    principals: [{sub: "a*"}]\n    maxTtl: 1h\n    approval: auto\n';
    let error: PolicyError | undefined;
    try {
      parsePolicy(text, 'p.yaml');
    } catch (err) {
      error = err as PolicyError;
    }
    const problems = (error?.details.problems as string[]).join('\n');
    expect(problems).toContain('p.yaml:8: environments.prod.maxTtl: "forever" is not a duration');
  });

  it('reports YAML syntax errors with line and column', () => {
    expect(() => parsePolicy('roles: [\n', 'bad.yaml')).toThrow(/bad\.yaml:\d+:\d+/);
  });
});
