import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parse, stringify } from 'yaml';
import { LeashStack } from '../support/leash-stack';
import type { ProcessHandle } from '../support/process-handle';

const plan = readFileSync(join(__dirname, '../fixtures/terraform-prod-plan.txt'), 'utf8');
// The design brief's proposed change, as Terraform HCL.
const briefPlan = readFileSync(join(__dirname, '../../deploy/examples/brief-plan.tf'), 'utf8');
const BRIEF_REASONS = [
  'Elevated privileges required',
  'Affects production environment',
  'Potential service impact',
  'Potential security risk',
];
const LEASH = join(__dirname, '../../bin/leash.js');

/** Runs the built CLI; resolves with its exit code and output (never rejects on a non-zero exit). */
function leash(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [LEASH, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

async function waitForLog(handle: ProcessHandle, from: number, pattern: RegExp): Promise<void> {
  // Waits for an event in the process log, not for a duration; jest's timeout bounds it.
  while (!pattern.test(handle.log.slice(from))) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

function extraRoles(doc: Record<string, unknown>): Record<string, unknown> {
  // These cases test the engine on the roles' own rules; the demo's risk routing is covered by demo-routing.e2e-spec.
  delete doc.riskRouting;
  const roles = doc.roles as Record<string, unknown>[];
  // requireMfa roles take web approvals only, unless the policy lists api explicitly (as here).
  const admin = roles.find((r) => r.id === 'demo-prod-admin') as { approval: Record<string, unknown> };
  admin.approval.channels = ['web', 'api'];
  const jwt = {
    provider: 'jwt',
    settings: { audience: 'demo-api', scope: ['read'] },
    principals: [{ sub: 'agent-*' }],
  };
  roles.push(
    {
      ...jwt,
      id: 'demo-staging-budget',
      environments: ['staging'],
      privilege: 'read',
      maxTtl: '1h',
      approval: { auto: true, budget: 2, overBudget: { groups: [{ group: 'prod-approvers', quorum: 1 }] } },
    },
    {
      ...jwt,
      id: 'demo-prod-two',
      environments: ['production'],
      privilege: 'write',
      minTtl: '5s',
      maxTtl: '1h',
      approval: { groups: [{ group: 'prod-approvers', quorum: 2 }] },
    },
    {
      ...jwt,
      id: 'demo-prod-web-only',
      environments: ['production'],
      privilege: 'write',
      maxTtl: '1h',
      approval: { groups: ['prod-approvers'], channels: ['web'] },
    },
  );
  return doc;
}

describe('policy engine end to end: explain, MFA, channels, narrowing, budget, reload', () => {
  let stack: LeashStack;
  let redis: Redis;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'policy', policy: extraRoles });
    redis = new Redis(stack.redis.url, { lazyConnect: true });
    await redis.connect();
    const mfa = { amr: ['pwd', 'mfa'], authTime: nowSeconds() };
    const subjects: [string, Parameters<LeashStack['devToken']>[0]][] = [
      ['agent', { subject: 'agent-pol', owner: 'bob' }],
      ['agent2', { subject: 'agent-pol2', owner: 'bob' }],
      ['agent3', { subject: 'agent-pol3', owner: 'bob' }],
      ['admin', { subject: 'admin' }],
      ['alice', { subject: 'alice' }],
      ['carol', { subject: 'carol', groups: ['prod-approvers'] }],
      ['samMfa', { subject: 'sam', ...mfa }],
      ['rileyMfa', { subject: 'riley', ...mfa }],
      ['rileyNoMfa', { subject: 'riley', amr: ['pwd'], authTime: nowSeconds() }],
      ['rileyStale', { subject: 'riley', amr: ['mfa'], authTime: nowSeconds() - 3600 }],
      ['bobMfa', { subject: 'bob', groups: ['security'], ...mfa }],
    ];
    for (const [key, claims] of subjects) {
      tokens[key] = await stack.devToken(claims);
    }
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
  });

  const create = (token: string, body: Record<string, unknown>) =>
    stack.call('POST', '/v1/requests', { token, body: { reason: 'policy e2e', ...body } });

  describe('POST /v1/policy/explain', () => {
    const body = {
      principal: { sub: 'agent-x', owner: 'bob', groups: [] },
      role: 'demo-prod-admin',
      environment: 'production',
      ttlSeconds: 900,
      context: { plan },
    };

    it('answers admins with the decision, risk, rule and what matched, and creates nothing', async () => {
      const before = await redis.keys('{leash}:req:*');
      const res = await stack.call('POST', '/v1/policy/explain', { token: tokens.admin, body });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        decision: 'needs_approval',
        risk: {
          level: 'critical',
          reasons: expect.arrayContaining(['Potential security risk', 'Affects production environment']),
          findings: expect.arrayContaining([
            expect.objectContaining({ resource: 'google_project_iam_member.agent_editor', line: 13 }),
          ]),
        },
        approval: {
          kind: 'quorum',
          requirements: [
            { groups: ['security'], quorum: 1 },
            { groups: ['sre'], quorum: 1 },
          ],
          requireMfa: true,
          channels: ['web', 'api'],
          timeoutSeconds: 900,
          claimWindowSeconds: 600,
        },
        ttlSeconds: 900,
        matched: expect.arrayContaining(['environment production (tier production)']),
        reasons: ['role "demo-prod-admin" needs approval'],
        policyVersion: expect.any(String),
      });
      expect(await redis.keys('{leash}:req:*')).toEqual(before);
    });

    it('explains denials with their reasons', async () => {
      const res = await stack.call('POST', '/v1/policy/explain', {
        token: tokens.admin,
        body: { ...body, principal: { sub: 'human-1' }, ttlSeconds: 7200 },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        decision: 'denied',
        reasons: [
          'principal "human-1" is not allowed to request role "demo-prod-admin"',
          'ttlSeconds 7200 exceeds the maximum of 3600 s for this role and environment',
        ],
      });
    });

    it.each([
      ['a non-admin', 'alice', body, 403],
      ['no token', '', body, 401],
      ['a body missing the principal', 'admin', { role: 'x', environment: 'y' }, 400],
      ['an unknown field', 'admin', { ...body, extra: 1 }, 400],
      ['a plan over the field limit', 'admin', { ...body, context: { plan: 'x'.repeat(65537) } }, 413],
      ['a ticket over the field limit', 'admin', { ...body, context: { ticket: 'x'.repeat(300) } }, 400],
    ])('refuses %s with problem+json', async (_name, who, payload, status) => {
      const res = await stack.call('POST', '/v1/policy/explain', { token: tokens[who], body: payload });
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    });

    it('refuses malformed JSON', async () => {
      const res = await stack.call('POST', '/v1/policy/explain', { token: tokens.admin, raw: '{"principal":' });
      expect(res.status).toBe(400);
    });
  });

  describe('leash policy validate / explain', () => {
    it.each(['demo-policy.yaml', 'production-policy.yaml'])('validates deploy/examples/%s (exit 0)', async (file) => {
      const res = await leash(['policy', 'validate', join(__dirname, '../../deploy/examples', file)]);
      expect(res.stdout).toMatch(/: valid \(version [0-9a-f]{12};/);
      expect(res.code).toBe(0);
    });

    it('exits non-zero with located errors for a broken file', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'leash-validate-'));
      const file = join(dir, 'broken.yaml');
      const text = readFileSync(join(__dirname, '../../deploy/examples/demo-policy.yaml'), 'utf8');
      writeFileSync(
        file,
        text.replace('tier: production', 'tier: prod').replace('maxTtl: 1h\n\napprover', 'maxTtl: forever\n\napprover'),
      );
      const res = await leash(['policy', 'validate', file]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/broken\.yaml:16:11: environments\.production\.tier: Invalid option/);
      expect(res.stderr).toMatch(/broken\.yaml:18:13: environments\.production\.maxTtl: a duration/);
      // Cross-references are checked once the structure is valid.
      writeFileSync(file, text.replace('groups: [prod-approvers]', 'groups: [ghosts]'));
      const refs = await leash(['policy', 'validate', file]);
      expect(refs.code).toBe(1);
      expect(refs.stderr).toMatch(
        /broken\.yaml:\d+:\d+: roles\.1\.approval\.groups\.0: unknown approver group "ghosts"/,
      );
    });

    it('exits with usage (2) without a file, and 1 for a missing file', async () => {
      expect((await leash(['policy', 'validate'])).code).toBe(2);
      expect((await leash(['policy', 'validate', '/nonexistent/policy.yaml'])).code).toBe(1);
    });

    it("explains through the broker with the same answer as the API: the brief's HCL change is critical with the four reasons", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'leash-explain-'));
      writeFileSync(join(dir, 'plan.txt'), briefPlan);
      const args = [
        'policy',
        'explain',
        '--principal',
        'agent-x',
        '--owner',
        'bob',
        '--role',
        'demo-prod-write',
        '--env',
        'production',
        '--ttl',
        '15m',
        '--plan',
        join(dir, 'plan.txt'),
      ];
      const res = await leash(args, { LEASH_URL: stack.url, LEASH_TOKEN: tokens.admin });
      expect(res.code).toBe(0);
      const api = await stack.call('POST', '/v1/policy/explain', {
        token: tokens.admin,
        body: {
          principal: { sub: 'agent-x', owner: 'bob', groups: [] },
          role: 'demo-prod-write',
          environment: 'production',
          ttlSeconds: 900,
          context: { plan: briefPlan },
        },
      });
      expect(JSON.parse(res.stdout)).toEqual(api.body);
      expect(api.body).toMatchObject({ decision: 'needs_approval', risk: { level: 'critical' } });
      expect(api.body.risk.reasons.slice(0, 4)).toEqual(BRIEF_REASONS);
      expect(api.body.risk.reasons).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /^google_project_iam_member\.deployer_editor grants the broad role roles\/editor .*\(line 6\)$/,
          ),
          'kubernetes_deployment.api is in Kubernetes namespace production (line 21)',
        ]),
      );
      const denied = await leash(args, { LEASH_URL: stack.url, LEASH_TOKEN: tokens.alice });
      expect(denied.code).toBe(3);
    });
  });

  it('stores the risk with the request and shows it: the Terraform plan on a production write is critical', async () => {
    const res = await create(tokens.agent, { role: 'demo-prod-write', environment: 'production', context: { plan } });
    expect(res.status).toBe(201);
    expect(res.body.risk).toMatchObject({ level: 'critical' });
    const seen = await stack.call('GET', `/v1/requests/${res.body.id}`, { token: tokens.alice });
    expect(seen.body.risk.level).toBe('critical');
    expect(seen.body.risk.reasons).toContain(
      'google_project_iam_member.agent_editor grants the broad role roles/editor to serviceAccount:deploy-bot@acme-prod.iam.gserviceaccount.com (line 13)',
    );
  });

  it('requireMfa: needs security AND sre with recent MFA; the owner never counts', async () => {
    const res = await create(tokens.agent, { role: 'demo-prod-admin', environment: 'production', ttlSeconds: 60 });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    const approve = (who: string) => stack.call('POST', `/v1/requests/${id}/approve`, { token: tokens[who], body: {} });

    const noMfa = await approve('rileyNoMfa');
    expect(noMfa.status).toBe(403);
    expect(noMfa.body.type).toBe('https://leash.dev/problems/mfa-required');
    const stale = await approve('rileyStale');
    expect(stale.status).toBe(403);
    expect(stale.body.detail).toMatch(/authenticated \d+ s ago/);
    const owner = await approve('bobMfa');
    expect(owner.status).toBe(403);
    expect(owner.body.type).toBe('https://leash.dev/problems/self-approval');

    expect((await approve('rileyMfa')).body.state).toBe('pending');
    const done = await approve('samMfa');
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ state: 'approved', quorum: { satisfied: true } });
  });

  it('channels: a web-only role refuses API approvals (API approvals count as channel api)', async () => {
    const res = await create(tokens.agent, { role: 'demo-prod-web-only', environment: 'production' });
    const refused = await stack.call('POST', `/v1/requests/${res.body.id}/approve`, { token: tokens.alice, body: {} });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ type: 'https://leash.dev/problems/channel-not-allowed', channels: ['web'] });
    // Denial stays possible from anywhere.
    const denied = await stack.call('POST', `/v1/requests/${res.body.id}/deny`, { token: tokens.alice, body: {} });
    expect(denied.body.state).toBe('denied');
  });

  it('narrowing: a shorter TTL makes a new digest, earlier approvals stop counting, the lease gets the narrowed TTL', async () => {
    const res = await create(tokens.agent2, { role: 'demo-prod-two', environment: 'production', ttlSeconds: 600 });
    const id = res.body.id as string;
    const first = await stack.call('POST', `/v1/requests/${id}/approve`, { token: tokens.alice, body: {} });
    expect(first.body.quorum.progress).toBe('1 of 2: prod-approvers');

    const wider = await stack.call('POST', `/v1/requests/${id}/approve`, {
      token: tokens.carol,
      body: { ttlSeconds: 900 },
    });
    expect(wider.status).toBe(400);

    const narrowed = await stack.call('POST', `/v1/requests/${id}/approve`, {
      token: tokens.carol,
      body: { ttlSeconds: 30 },
    });
    expect(narrowed.status).toBe(200);
    expect(narrowed.body).toMatchObject({
      state: 'pending',
      ttlSeconds: 30,
      narrowed: { fromTtlSeconds: 600, by: 'carol' },
      quorum: { satisfied: false, progress: '1 of 2: prod-approvers' },
    });
    expect(narrowed.body.digest).not.toBe(res.body.digest);

    const again = await stack.call('POST', `/v1/requests/${id}/approve`, { token: tokens.alice, body: {} });
    expect(again.body).toMatchObject({ state: 'approved', ttlSeconds: 30 });

    const seen = await stack.call('GET', `/v1/requests/${id}`, { token: tokens.agent2 });
    expect(seen.body).toMatchObject({ ttlSeconds: 30, narrowed: { fromTtlSeconds: 600 } });
    const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: tokens.agent2 });
    expect(claim.status).toBe(201);
    const { issuedAt, expiresAt } = claim.body.lease as { issuedAt: string; expiresAt: string };
    // The lease runs for the narrowed 30 s (not the 600 s first asked); provider rounding may trim it.
    expect(Date.parse(expiresAt) - Date.parse(issuedAt)).toBeLessThanOrEqual(30_000);
    expect(Date.parse(expiresAt) - Date.parse(issuedAt)).toBeGreaterThan(25_000);
  });

  it('auto-approval budget: concurrent requests spend exactly the budget; the rest go to humans with the reason', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, () => create(tokens.agent3, { role: 'demo-staging-budget', environment: 'staging' })),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    const auto = results.filter((r) => r.body.decision === 'auto_approved');
    const human = results.filter((r) => r.body.decision === 'needs_approval');
    expect(auto).toHaveLength(2);
    expect(human).toHaveLength(4);
    expect(human[0].body).toMatchObject({
      state: 'pending',
      decisionReasons: expect.arrayContaining(['auto-approval budget exhausted']),
    });
    // Another principal has its own budget.
    const other = await create(tokens.agent2, { role: 'demo-staging-budget', environment: 'staging' });
    expect(other.body.decision).toBe('auto_approved');
  });

  describe('reload', () => {
    const policyPath = (): string => join(stack.dir, 'policy.yaml');

    it('keeps serving with the old policy when the new file is broken, and says where', async () => {
      const good = readFileSync(policyPath(), 'utf8');
      const from = stack.api.log.length;
      writeFileSync(policyPath(), good.replace('tier: staging', 'tier: [staging'));
      stack.api.signal('SIGHUP');
      await waitForLog(stack.api, from, /policy reload refused/);
      expect(stack.api.log.slice(from)).toMatch(/policy\.yaml:\d+:\d+/);
      const res = await create(tokens.agent, { role: 'demo-staging-read', environment: 'staging' });
      expect(res.status).toBe(201);
      expect(res.body.decision).toBe('auto_approved');
      const events = (await redis.xrange('{leash}:audit', '-', '+')).map(
        ([, f]) => JSON.parse(f[1]) as { action: string },
      );
      expect(events.map((e) => e.action)).toContain('policy.reload_failed');
      writeFileSync(policyPath(), good);
    });

    it('applies a good file at once and expires pending requests of a role the new policy removes', async () => {
      const pending = await create(tokens.agent, { role: 'demo-prod-write', environment: 'production' });
      const kept = await create(tokens.agent, { role: 'demo-prod-two', environment: 'production' });
      expect(pending.body.state).toBe('pending');
      const doc = parse(readFileSync(policyPath(), 'utf8')) as { roles: Record<string, unknown>[] };
      doc.roles = doc.roles.filter((r) => r.id !== 'demo-prod-write');
      const read = doc.roles.find((r) => r.id === 'demo-staging-read') as Record<string, unknown>;
      read.approval = { groups: ['prod-approvers'] };
      const from = stack.api.log.length;
      writeFileSync(policyPath(), stringify(doc));
      stack.api.signal('SIGHUP');
      await waitForLog(stack.api, from, /policy reloaded/);

      const now = await create(tokens.agent, { role: 'demo-staging-read', environment: 'staging' });
      expect(now.body.decision).toBe('needs_approval');
      const gone = await create(tokens.agent, { role: 'demo-prod-write', environment: 'production' });
      expect(gone.status).toBe(403);
      expect(now.body.policyVersion).not.toBe(pending.body.policyVersion);

      const expired = await stack.call('GET', `/v1/requests/${pending.body.id}?waitSeconds=10`, {
        token: tokens.agent,
      });
      expect(expired.body).toMatchObject({
        state: 'expired',
        closedReason: expect.stringContaining('role "demo-prod-write" was removed'),
      });
      const still = await stack.call('GET', `/v1/requests/${kept.body.id}`, { token: tokens.agent });
      expect(still.body.state).toBe('pending');
      const events = (await redis.xrange('{leash}:audit', '-', '+')).map(
        ([, f]) => JSON.parse(f[1]) as { action: string },
      );
      expect(events.map((e) => e.action)).toContain('policy.reloaded');
    });
  });
  it('leaks no issued secret into logs or Redis', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
