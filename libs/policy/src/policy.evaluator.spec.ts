import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Principal } from '@leash/core';
import { assertEligibleApprover, evaluateQuorum } from '@leash/approvals';
import { parsePolicy, type LoadedPolicy } from './policy.loader';
import { BUDGET_EXHAUSTED, evaluateRequest as sut } from './policy.evaluator';
import { PeopleDirectory } from './people-directory';
import { approvalsNeeded, strengthen } from './approval-rules';
import { PolicyError } from './policy.errors';

const ROOT = join(__dirname, '../../..');
const demo = parsePolicy(readFileSync(join(ROOT, 'deploy/examples/demo-policy.yaml'), 'utf8'), 'demo-policy.yaml');
const production = parsePolicy(
  readFileSync(join(ROOT, 'deploy/examples/production-policy.yaml'), 'utf8'),
  'production-policy.yaml',
);
const plan = readFileSync(join(ROOT, 'test/fixtures/terraform-prod-plan.txt'), 'utf8');

const agent: Principal = { id: 'agent-7', issuer: 'dev', owner: 'bob', groups: [] };
const engineer: Principal = { id: 'u1', issuer: 'okta', groups: ['engineering'], email: 'e@acme.example' };

describe('evaluateRequest (demo policy)', () => {
  it.each([
    ['unknown role', { role: 'nope', environment: 'staging' }, 'denied', 'unknown role "nope"'],
    ['unknown environment', { role: 'demo-staging-read', environment: 'moon' }, 'denied', 'unknown environment "moon"'],
    [
      'environment the role does not serve',
      { role: 'demo-staging-read', environment: 'production' },
      'denied',
      'role "demo-staging-read" does not serve environment "production"',
    ],
    [
      'TTL above the maximum (refused, not clamped)',
      { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 7200 },
      'denied',
      'ttlSeconds 7200 exceeds the maximum of 3600 s for this role and environment',
    ],
    [
      'TTL below the minimum',
      { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 2 },
      'denied',
      "ttlSeconds 2 is below the role's minimum of 5 s",
    ],
    [
      'auto role',
      { role: 'demo-staging-read', environment: 'staging' },
      'auto_approved',
      'role "demo-staging-read" is auto-approved',
    ],
    [
      'quorum role',
      { role: 'demo-prod-write', environment: 'production' },
      'needs_approval',
      'role "demo-prod-write" needs approval',
    ],
  ])('%s', (_name, input, decision, reason) => {
    const result = sut(demo, { principal: agent, ...input });
    expect(result.decision).toBe(decision);
    expect(result.reasons).toContain(reason);
  });

  it('denies a principal no matcher allows', () => {
    const result = sut(demo, {
      principal: { ...agent, id: 'human-1' },
      role: 'demo-staging-read',
      environment: 'staging',
    });
    expect(result).toMatchObject({
      decision: 'denied',
      reasons: ['principal "human-1" is not allowed to request role "demo-staging-read"'],
    });
  });

  it('uses the environment default TTL when none is asked', () => {
    const result = sut(demo, { principal: agent, role: 'demo-staging-read', environment: 'staging' });
    expect(result.decision !== 'denied' && result.ttlSeconds).toBe(900);
  });

  it('gives demo-prod-admin one security AND one sre approver, and (high risk) two prod-approvers, with MFA, web only', () => {
    const result = sut(demo, { principal: agent, role: 'demo-prod-admin', environment: 'production' });
    expect(result).toMatchObject({
      decision: 'needs_approval',
      approval: {
        kind: 'quorum',
        requirements: [
          { groups: ['security'], quorum: 1 },
          { groups: ['sre'], quorum: 1 },
          { groups: ['prod-approvers'], quorum: 2 },
        ],
        requireMfa: true,
        mfaMaxAgeSeconds: 900,
        channels: ['web'],
      },
      risk: { level: 'high' },
    });
  });

  it("routes a critical production request (the brief's plan) to two different prod-approvers with MFA, web only", () => {
    const briefPlan = readFileSync(join(ROOT, 'deploy/examples/brief-plan.tf'), 'utf8');
    const result = sut(demo, {
      principal: agent,
      role: 'demo-prod-write',
      environment: 'production',
      context: { plan: briefPlan },
    });
    expect(result).toMatchObject({
      decision: 'needs_approval',
      risk: { level: 'critical' },
      approval: {
        requirements: [{ groups: ['prod-approvers'], quorum: 2 }],
        requireMfa: true,
        mfaMaxAgeSeconds: 900,
        channels: ['web'],
      },
    });
    expect(result.matched).toEqual(expect.arrayContaining(['riskRouting.high', 'riskRouting.critical']));
    const rule = result.decision === 'needs_approval' ? result.approval : undefined;
    const requirements = rule?.kind === 'quorum' ? rule.requirements : [];
    // One person counts once: the same approver twice does not make two.
    expect(evaluateQuorum(requirements, [{ approver: 'alice', groups: ['prod-approvers'] }]).satisfied).toBe(false);
    expect(
      evaluateQuorum(requirements, [
        { approver: 'alice', groups: ['prod-approvers'] },
        { approver: 'alice', groups: ['prod-approvers'] },
      ]).satisfied,
    ).toBe(false);
    expect(
      evaluateQuorum(requirements, [
        { approver: 'alice', groups: ['prod-approvers'] },
        { approver: 'dave', groups: ['prod-approvers'] },
      ]).satisfied,
    ).toBe(true);
    // Without a plan the same write is medium: one approver, any channel.
    const plain = sut(demo, { principal: agent, role: 'demo-prod-write', environment: 'production' });
    expect(plain).toMatchObject({
      risk: { level: 'medium' },
      approval: { requirements: [{ groups: ['prod-approvers'], quorum: 1 }], channels: ['web', 'slack', 'api'] },
    });
  });

  it('names leash-admins members as admins, and nobody else', () => {
    const people = new PeopleDirectory(demo.document, 'https://dev');
    expect(people.resolve({ id: 'admin', issuer: 'https://dev', groups: [] }).admin).toBe(true);
    expect(people.resolve({ id: 'z', issuer: 'https://dev', groups: ['leash-admins'] }).admin).toBe(true);
    expect(people.resolve({ id: 'alice', issuer: 'https://dev', groups: [] }).admin).toBe(false);
  });
});

describe('evaluateRequest (production example)', () => {
  it('routes the mission Terraform plan to security AND sre, web only, with MFA (risk critical)', () => {
    const result = sut(production, {
      principal: engineer,
      role: 'terraform-prod-apply',
      environment: 'production',
      context: { plan },
    });
    expect(result).toMatchObject({
      decision: 'needs_approval',
      risk: { level: 'critical' },
      approval: {
        requirements: [
          { groups: ['sre'], quorum: 1 },
          { groups: ['security'], quorum: 1 },
        ],
        requireMfa: true,
        channels: ['web'],
        timeoutSeconds: 900,
      },
    });
    expect(result.matched).toEqual(expect.arrayContaining(['riskRouting.high', 'riskRouting.critical']));
  });

  it('auto-approves prod-read within its budget and asks sre once it is spent', () => {
    const within = sut(production, { principal: engineer, role: 'prod-read', environment: 'production' });
    expect(within).toMatchObject({ decision: 'auto_approved', approval: { kind: 'auto', budgetPerHour: 20 } });
    const spent = sut(production, {
      principal: engineer,
      role: 'prod-read',
      environment: 'production',
      autoBudgetExhausted: true,
    });
    expect(spent).toMatchObject({
      decision: 'needs_approval',
      approval: { requirements: [{ groups: ['sre'], quorum: 1 }] },
    });
    expect(spent.reasons).toContain(BUDGET_EXHAUSTED);
  });

  it('maps Slack-only and email members to their groups', () => {
    const people = new PeopleDirectory(production.document);
    const okta = 'https://acme.okta.com/oauth2/default';
    expect(people.resolve({ id: 'x', issuer: okta, email: 'kim@acme.example', groups: [] }).groups).toEqual([
      'security',
    ]);
    expect(people.resolveSlack('U02SEC0001')?.groups).toEqual(['security']);
  });
});

// ---- property-based tests -------------------------------------------------------------------

const GROUPS = ['g1', 'g2', 'g3'];
const ENVS = ['dev', 'staging', 'production'];
const groupName = fc.constantFrom(...GROUPS);
const humanRule = fc.record({
  groups: fc
    .uniqueArray(groupName, { minLength: 1, maxLength: 3 })
    .chain((gs) =>
      fc.tuple(...gs.map((g) => fc.record({ group: fc.constant(g), quorum: fc.integer({ min: 1, max: 3 }) }))),
    ),
  requireMfa: fc.boolean(),
});
const approvalArb = fc.oneof(fc.constant<'auto'>('auto'), humanRule);
const roleArb = fc.record({
  id: fc.constantFrom('r1', 'r2', 'r3'),
  environments: fc.subarray(ENVS, { minLength: 1 }),
  principals: fc.array(
    fc.oneof(fc.record({ sub: fc.constantFrom('agent-*', 'agent-1', 'ci-?') }), fc.record({ group: groupName })),
    { minLength: 1, maxLength: 2 },
  ),
  privilege: fc.constantFrom('read', 'write', 'admin'),
  maxTtl: fc.integer({ min: 60, max: 7200 }),
  approval: approvalArb,
});
const policyArb = fc
  .uniqueArray(roleArb, { selector: (r) => r.id, minLength: 1, maxLength: 3 })
  .map((roles): LoadedPolicy => {
    const text = JSON.stringify({
      issuers: [{ name: 'dev', devIssuer: true, audience: 'leash' }],
      environments: Object.fromEntries(ENVS.map((e) => [e, { tier: e, maxTtl: 3600 }])),
      approverGroups: Object.fromEntries(GROUPS.map((g) => [g, { idpGroups: [g] }])),
      roles: roles.map((r) => ({ ...r, provider: 'jwt' })),
    });
    return parsePolicy(text, 'generated.json');
  });
const principalArb = fc.record({
  id: fc.constantFrom('agent-1', 'agent-2', 'ci-x', 'human'),
  issuer: fc.constant('dev'),
  groups: fc.subarray(GROUPS),
});
const requestArb = fc.record({
  principal: principalArb,
  role: fc.constantFrom('r1', 'r2', 'r3', 'r4'),
  environment: fc.constantFrom(...ENVS, 'moon'),
  ttlSeconds: fc.option(fc.integer({ min: 1, max: 10000 }), { nil: undefined }),
  context: fc.option(fc.record({ plan: fc.constantFrom('', plan, 'DROP TABLE x;', 'kubectl delete ns prod') }), {
    nil: undefined,
  }),
  autoBudgetExhausted: fc.boolean(),
});

const RUNS = { numRuns: 1000 };

describe('evaluateRequest properties', () => {
  it('never allows a request outside a role', () => {
    fc.assert(
      fc.property(policyArb, requestArb, (policy, input) => {
        const result = sut(policy, input);
        if (result.decision === 'denied') {
          return;
        }
        const role = policy.document.roles.find((r) => r.id === input.role);
        expect(role).toBeDefined();
        expect(role?.environments).toContain(input.environment);
        expect(
          role?.principals.some(
            (m) =>
              (m.sub !== undefined &&
                new RegExp(`^${m.sub.replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(input.principal.id)) ||
              (m.group !== undefined && input.principal.groups.includes(m.group)),
          ),
        ).toBe(true);
        expect(result.ttlSeconds).toBeLessThanOrEqual(Math.min(role?.maxTtl ?? 0, 3600));
      }),
      RUNS,
    );
  });

  it('never auto-approves a request whose role is not auto', () => {
    fc.assert(
      fc.property(policyArb, requestArb, (policy, input) => {
        const result = sut(policy, input);
        const role = policy.document.roles.find((r) => r.id === input.role);
        if (result.decision === 'auto_approved') {
          expect(role?.approval).toBe('auto');
        }
      }),
      RUNS,
    );
  });

  it('never lowers the approvals needed when a group is added to a rule', () => {
    const doc = demo.document;
    const rule = fc.oneof(
      fc.constant({ kind: 'auto' as const, claimWindowSeconds: 600 }),
      fc
        .array(fc.record({ groups: fc.subarray(GROUPS, { minLength: 1 }), quorum: fc.integer({ min: 1, max: 4 }) }), {
          minLength: 1,
          maxLength: 3,
        })
        .map((requirements) => ({
          kind: 'quorum' as const,
          requirements,
          timeoutSeconds: 900,
          claimWindowSeconds: 600,
        })),
    );
    const route = fc.record({
      groups: fc.array(fc.oneof(groupName, fc.record({ group: groupName, quorum: fc.integer({ min: 1, max: 4 }) })), {
        minLength: 1,
        maxLength: 3,
      }),
      requireMfa: fc.boolean(),
      channels: fc.option(fc.subarray(['web', 'slack', 'api'] as ('web' | 'slack' | 'api')[], { minLength: 1 }), {
        nil: undefined,
      }),
    });
    fc.assert(
      fc.property(rule, route, (base, r) => {
        const stricter = strengthen(base, r, doc);
        expect(approvalsNeeded(stricter)).toBeGreaterThanOrEqual(approvalsNeeded(base));
        expect(approvalsNeeded(stricter)).toBeGreaterThan(0);
        if (base.kind === 'quorum') {
          const s = stricter as typeof base;
          // Every requirement of the role stays, in place, with at least its quorum.
          base.requirements.forEach((req, i) => {
            expect(s.requirements[i].groups).toEqual(req.groups);
            expect(s.requirements[i].quorum).toBeGreaterThanOrEqual(req.quorum);
          });
        }
      }),
      RUNS,
    );
  });

  it('never counts the requester or its owner towards a quorum', () => {
    const people = ['agent-1', 'bob', 'p1', 'p2', 'p3'];
    fc.assert(
      fc.property(
        fc.array(fc.record({ approver: fc.constantFrom(...people), groups: fc.subarray(GROUPS, { minLength: 1 }) }), {
          maxLength: 8,
        }),
        fc.array(fc.record({ groups: fc.subarray(GROUPS, { minLength: 1 }), quorum: fc.integer({ min: 1, max: 3 }) }), {
          minLength: 1,
          maxLength: 3,
        }),
        (attempts, requirements) => {
          const rule = { kind: 'quorum' as const, requirements, timeoutSeconds: 900, claimWindowSeconds: 600 };
          const request = { principal: 'agent-1', issuer: 'dev', owner: 'bob' } as Parameters<
            typeof assertEligibleApprover
          >[0];
          const accepted = attempts.filter((a) => {
            try {
              assertEligibleApprover(request, rule, {
                key: a.approver,
                identifiers: [a.approver],
                groups: a.groups,
                ambiguous: false,
              });
              return true;
            } catch {
              return false;
            }
          });
          expect(accepted.map((a) => a.approver)).not.toContain('agent-1');
          expect(accepted.map((a) => a.approver)).not.toContain('bob');
          const q = evaluateQuorum(requirements, accepted);
          expect(q.assignment.flat()).not.toContain('agent-1');
          expect(q.assignment.flat()).not.toContain('bob');
          // One person counts once.
          expect(new Set(q.assignment.flat()).size).toBe(q.assignment.flat().length);
        },
      ),
      RUNS,
    );
  });
});

describe('parsePolicy', () => {
  it('names the file, line, column and reason of each problem', () => {
    const text =
      'issuers:\n  - name: dev\n    devIssuer: true\n    audience: leash\nenvironments:\n  prod:\n    tier: production\n    maxTtl: forever\nroles:\n  - id: r\n    provider: jwt\n    environments: [prod, nowhere]\n    principals: [{sub: "a*"}]\n    maxTtl: 1h\n    approval: auto\n';
    let error: PolicyError | undefined;
    try {
      parsePolicy(text, 'p.yaml');
    } catch (err) {
      error = err as PolicyError;
    }
    const problems = (error?.details.problems as string[]).join('\n');
    expect(problems).toMatch(/p\.yaml:8:13: environments\.prod\.maxTtl: a duration such as 90, 90s, 15m, 1h/);
    expect(problems).toMatch(/p\.yaml:12:\d+: roles\.0\.environments\.1: unknown environment "nowhere"/);
  });

  it('reports YAML syntax errors with line and column', () => {
    expect(() => parsePolicy('roles: [\n', 'bad.yaml')).toThrow(/bad\.yaml:\d+:\d+/);
  });
});
