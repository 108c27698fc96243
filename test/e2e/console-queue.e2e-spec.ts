import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { AccessRequest, RiskLevel } from '@leash/core';
import { WebConsoleNotifier, type PendingQuery } from '@leash/approvals';
import { eventually } from '../support/eventually';
import { freePort } from '../support/free-port';
import { startLeash } from '../support/leash-cli';
import { LeashStack } from '../support/leash-stack';
import { RedisServer } from '../support/redis-server';
import { IDP_CLIENT, OidcIdp, type IdpUser } from '../fakes/oidc-idp';

const ROOT = join(__dirname, '..', '..');
const ARTIFACTS = join(ROOT, '.test-artifacts', 'console-queue');
// LEASH_UPDATE_SCREENSHOTS=1 also writes the README's screenshots (docs/images) from this run.
const DOCS_IMAGES = process.env.LEASH_UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'images') : undefined;
const BRIEF_PLAN = readFileSync(join(ROOT, 'deploy', 'examples', 'brief-plan.tf'), 'utf8');
const PAGE = 100;
const RANK: Record<RiskLevel, number> = { critical: 0, high: 1, medium: 2, low: 3 };

const USERS: IdpUser[] = [
  { sub: 'carol', password: 'carol-pw', email: 'carol@example.test', groups: ['prod-approvers'], amr: ['pwd', 'otp'] },
  {
    sub: 'quinn',
    password: 'quinn-pw',
    email: 'quinn@example.test',
    groups: ['prod-approvers', 'staging-approvers'],
    amr: ['pwd', 'otp'],
  },
  { sub: 'erin', password: 'erin-pw', email: 'erin@example.test', groups: ['staging-approvers'], amr: ['pwd', 'otp'] },
  { sub: 'admin', password: 'admin-pw', email: 'admin@example.test', groups: ['leash-admins'], amr: ['pwd', 'otp'] },
];

interface Asked {
  id: string;
  risk: RiskLevel;
  environment: string;
  role: string;
  createdAt: string;
}

/** The order the queue promises: risk (critical first), then oldest first. */
function queueOrder(items: Asked[]): string[] {
  return [...items]
    .sort((a, b) => RANK[a.risk] - RANK[b.risk] || a.createdAt.localeCompare(b.createdAt))
    .map((a) => a.id);
}

describe('approver console: the pending queue by risk then age, its count, filters, narrowed TTL (real Chromium)', () => {
  let stack: LeashStack;
  let idp: OidcIdp;
  let browser: Browser;
  let agentToken: string;
  const contexts: BrowserContext[] = [];
  const asked: Asked[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const idpPort = await freePort();
    stack = await LeashStack.start({
      name: 'console-queue',
      env: {
        LEASH_OIDC_ISSUER: `http://127.0.0.1:${idpPort}`,
        LEASH_OIDC_CLIENT_ID: IDP_CLIENT.id,
        LEASH_OIDC_CLIENT_SECRET: IDP_CLIENT.secret,
      },
      policy: (doc) => {
        const groups = doc.approverGroups as Record<string, unknown>;
        groups['staging-approvers'] = { members: [], idpGroups: ['staging-approvers'] };
        const roles = doc.roles as Record<string, unknown>[];
        const role = (id: string, environment: string, privilege: string, approval: Record<string, unknown>) => ({
          id,
          provider: 'jwt',
          settings: { audience: 'demo-api', scope: privilege === 'read' ? ['read'] : ['read', 'write'] },
          environments: [environment],
          principals: [{ sub: 'agent-*' }],
          privilege,
          minTtl: '5s',
          maxTtl: '1h',
          approval: { timeout: '30m', claimWindow: '10m', ...approval },
        });
        roles.push(role('queue-staging-read', 'staging', 'read', { groups: ['staging-approvers'], quorum: 1 }));
        roles.push(role('queue-prod-two', 'production', 'write', { groups: ['prod-approvers'], quorum: 2 }));
        // The queue's order is what is under test, not the demo's risk routing (which may add groups).
        doc.riskRouting = {};
        return doc;
      },
    });
    idp = await OidcIdp.start(USERS, `${stack.url}/console/callback`, idpPort);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    agentToken = await stack.devToken({ subject: 'agent-queue', owner: 'bob' });
  });

  afterAll(async () => {
    await Promise.allSettled(contexts.map((c) => c.close()));
    await browser?.close();
    await idp?.stop();
    await stack?.stop();
  });

  async function login(user: string, path = '/console', width = 1280): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${stack.url}${path}`);
    await page.getByTestId('oidc-login').click();
    await page.locator('#login').fill(user);
    await page.locator('#password').fill(`${user}-pw`);
    await page.locator('#submit').click();
    await page.waitForURL((url) => url.href.startsWith(`${stack.url}/console`));
    return page;
  }

  async function ask(
    role: string,
    environment: string,
    reason: string,
    expected: RiskLevel,
    plan?: string,
    session = 'sess-queue',
  ): Promise<string> {
    const created = await stack.call('POST', '/v1/requests', {
      token: agentToken,
      body: {
        role,
        environment,
        ttlSeconds: 300,
        reason,
        session: { id: session, agent: 'codex', host: 'ci-runner-3' },
        context: { ...(plan ? { plan } : {}), ticket: 'OPS-117' },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.risk.level).toBe(expected);
    asked.push({ id: created.body.id, risk: expected, environment, role, createdAt: created.body.createdAt });
    // Distinct creation times, so the expected order does not depend on a tie.
    await new Promise((r) => setTimeout(r, 5));
    return created.body.id as string;
  }

  const rowIds = (page: Page): Promise<string[]> =>
    page.evaluate<string[]>(
      `[...document.querySelectorAll('[data-testid="pending-row"]')].map((r) => r.getAttribute('data-request-id'))`,
    );

  /** Reloads until the queue shows `count` requests (the web notifier indexes them through the worker). */
  async function queueOf(page: Page, path: string, count: number): Promise<string[]> {
    return eventually(
      async () => {
        await page.goto(`${stack.url}${path}`);
        return Number(await page.getByTestId('pending-count').textContent()) === count ? rowIds(page) : undefined;
      },
      30_000,
      300,
    );
  }

  it('orders the queue by risk then age, for what each viewer may approve, and filters it by environment and risk', async () => {
    const unreadable = 'apply the usual production fixes from yesterday, same as last time';
    await ask('demo-prod-write', 'production', 'rotate the orders API signing key', 'medium');
    await ask('queue-staging-read', 'staging', 'read staging logs for the flaky checkout test', 'low');
    await ask(
      'demo-prod-write',
      'production',
      'grant the deployer editor on acme-prod, roll out api 2.4.1',
      'critical',
      BRIEF_PLAN,
    );
    await ask('demo-prod-write', 'production', 'hotfix the payment webhook', 'high', unreadable);
    await ask('demo-prod-write', 'production', 'refresh the CDN origin certificate', 'medium');
    await ask('demo-prod-write', 'production', 'recreate the customer exports bucket', 'critical', BRIEF_PLAN);
    await ask('queue-staging-read', 'staging', 'compare staging and production configs', 'low');
    await ask('demo-prod-write', 'production', 'raise the API rate limit for a partner', 'high', unreadable);
    const all = queueOrder(asked);
    const production = queueOrder(asked.filter((a) => a.environment === 'production'));
    const staging = queueOrder(asked.filter((a) => a.environment === 'staging'));

    // quinn approves for both groups: every request, critical first, oldest first within a level.
    const quinn = await login('quinn');
    expect(await queueOf(quinn, '/console', all.length)).toEqual(all);
    const risks = await quinn.locator('[data-testid="pending-row"] [data-testid="risk-level"]').allTextContents();
    expect(risks).toEqual(['critical', 'critical', 'high', 'high', 'medium', 'medium', 'low', 'low']);
    expect(await quinn.getByTestId('pending-more').count()).toBe(0);
    await quinn.screenshot({ path: join(ARTIFACTS, 'queue-mixed.png'), fullPage: true });

    // Scoped to what the viewer may approve: carol only production, erin only staging; admins see all.
    const carol = await login('carol');
    expect(await queueOf(carol, '/console', production.length)).toEqual(production);
    const erin = await login('erin');
    expect(await queueOf(erin, '/console', staging.length)).toEqual(staging);
    const admin = await login('admin');
    expect(await queueOf(admin, '/console', all.length)).toEqual(all);

    // Filters: by environment, by risk, both; the order holds within them.
    expect(await queueOf(quinn, '/console?environment=staging', 2)).toEqual(staging);
    expect(await queueOf(quinn, '/console?risk=critical', 2)).toEqual(all.slice(0, 2));
    expect(await queueOf(quinn, '/console?environment=production&risk=high', 2)).toEqual(all.slice(2, 4));
    expect(await queueOf(quinn, '/console?environment=staging&risk=critical', 0)).toEqual([]);
    await expect(quinn.locator('tr.empty').textContent()).resolves.toContain('Nothing waits for approval.');
    // The filter stays in the links and in the list's own refresh.
    await quinn.goto(`${stack.url}/console?environment=production`);
    await expect(quinn.locator('select[name="environment"]').inputValue()).resolves.toBe('production');
    await quinn.getByTestId('risk-links').getByRole('link', { name: 'high', exact: true }).click();
    await quinn.waitForURL(`${stack.url}/console?environment=production&risk=high`);
    expect(await rowIds(quinn)).toEqual(all.slice(2, 4));
    await expect(quinn.locator('body').getAttribute('data-poll')).resolves.toBe(
      '/console/fragments/pending?environment=production&risk=high',
    );
    const fragment = await quinn.request.get(`${stack.url}/console/fragments/pending?environment=production&risk=high`);
    expect(fragment.status()).toBe(200);
    const json = (await fragment.json()) as { count: number; html: string };
    expect(json.count).toBe(2);
    expect(json.html).toContain(all[2]);
    expect(json.html).not.toContain(all[0]);
  });

  it('refuses bad filter values: a 400 page for the browser, problem+json for the list refresh', async () => {
    const quinn = await login('quinn');
    for (const [query, says] of [
      ['risk=severe', 'risk'],
      ['environment=nowhere', 'unknown environment "nowhere"'],
      ['environment=%3Cscript%3E', 'environment'],
      ['role=no-such-role', 'unknown role "no-such-role"'],
      ['limit=100000', 'limit'],
    ] as const) {
      const res = await quinn.goto(`${stack.url}/console?${query}`);
      expect(res?.status()).toBe(400);
      await expect(quinn.getByTestId('error').textContent()).resolves.toContain(says);
      const frag = await quinn.request.get(`${stack.url}/console/fragments/pending?${query}`);
      expect(frag.status()).toBe(400);
      expect(frag.headers()['content-type']).toContain('application/problem+json');
    }
  });

  it('shows a narrowed TTL as narrowed: asked and granted, and by whom, in the queue and on the request page', async () => {
    // Two approvals needed: alice narrows 5 min to 1 min with hers; it waits for the second one, narrowed.
    const id = await ask('queue-prod-two', 'production', 'scale the worker pool for the sale', 'medium');
    const alice = await stack.devToken({ subject: 'alice' });
    const approved = await stack.call('POST', `/v1/requests/${id}/approve`, { token: alice, body: { ttlSeconds: 60 } });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ state: 'pending', ttlSeconds: 60, narrowed: { fromTtlSeconds: 300 } });

    const quinn = await login('quinn');
    await queueOf(quinn, '/console', asked.length);
    const row = quinn.locator(`[data-request-id="${id}"]`);
    await expect(row.getByTestId('ttl').textContent()).resolves.toBe('60 s');
    await expect(row.getByTestId('ttl-narrowed').textContent()).resolves.toMatch(
      /narrowed: asked 5 min, granted 60 s, by alice when\s+approving/,
    );
    // A request nobody narrowed says nothing of the kind.
    const other = quinn.locator(`[data-request-id="${asked[0].id}"]`);
    expect(await other.getByTestId('ttl-narrowed').count()).toBe(0);

    await row.getByRole('link').click();
    await quinn.waitForURL(`${stack.url}/console/requests/${id}`);
    await expect(quinn.getByTestId('ttl').textContent()).resolves.toBe('60 s');
    await expect(quinn.getByTestId('ttl-narrowed').textContent()).resolves.toMatch(
      /asked 5 min, granted 60 s, by alice/,
    );
    await quinn.screenshot({ path: join(ARTIFACTS, 'request-narrowed.png'), fullPage: true });
  });

  it('README screenshots: the queue, the request page for the brief’s plan (critical, reasons, typed confirmation), its session', async () => {
    // The design brief's change, asked from an agent session of its own that reports what it does.
    const id = await ask(
      'demo-prod-write',
      'production',
      'grant the deployer editor on acme-prod and roll out api 2.4.1',
      'critical',
      BRIEF_PLAN,
      'sess-brief',
    );
    for (const event of [
      { step: 'understand', level: 'info', message: 'Agent started workflow: roll out api 2.4.1 to production' },
      { step: 'plan', level: 'info', message: 'Read configuration: deploy/examples/brief-plan.tf' },
      { step: 'plan', level: 'warn', message: 'Sensitive resource detected: roles/editor for the deployer' },
      { step: 'plan', level: 'info', message: 'Plan ready: 3 to add, 0 to change, 0 to destroy' },
      { step: 'request_approval', level: 'warn', message: 'Approval required: critical risk in production' },
    ]) {
      const posted = await stack.call('POST', '/v1/sessions/sess-brief/events', { token: agentToken, body: event });
      expect(posted.status).toBeLessThan(300);
    }
    const quinn = await login('quinn');
    await queueOf(quinn, '/console', asked.length);
    await quinn.screenshot({ path: join(ARTIFACTS, 'console-pending.png'), fullPage: true });
    await quinn.goto(`${stack.url}/console/requests/${id}`);
    await expect(quinn.getByTestId('risk-level').first().textContent()).resolves.toBe('critical');
    await quinn.getByTestId('confirm-environment').fill('production');
    await quinn.screenshot({ path: join(ARTIFACTS, 'console-request.png'), fullPage: true });
    await quinn.goto(`${stack.url}/console/sessions/sess-brief`);
    await quinn.getByText('Approval required: critical risk in production').first().waitFor();
    await quinn.screenshot({ path: join(ARTIFACTS, 'console-session.png'), fullPage: true });
    if (DOCS_IMAGES) {
      // The session dashboard's README screenshot comes from its own suite (an active session holding a lease).
      for (const name of ['console-pending.png', 'console-request.png']) {
        copyFileSync(join(ARTIFACTS, name), join(DOCS_IMAGES, name));
      }
    }
  });

  it(`caps a page at ${PAGE} and says how many more are not shown (the highest risk and oldest come first)`, async () => {
    // Enough medium-risk requests to pass one page; each is newer than every one above.
    for (let i = 0; i < PAGE; i += 1) {
      await ask('demo-prod-write', 'production', `batch job ${i}: rotate a tenant key`, 'medium');
    }
    const expected = queueOrder(asked);
    const quinn = await login('quinn');
    const shown = await queueOf(quinn, '/console', asked.length);
    expect(shown).toEqual(expected.slice(0, PAGE));
    const more = asked.length - PAGE;
    await expect(quinn.getByTestId('pending-more').textContent()).resolves.toMatch(
      new RegExp(`^\\s*${more} more not shown \\(${PAGE} of ${asked.length}\\s+shown`),
    );
    await expect(quinn.title()).resolves.toBe(`(${asked.length}) Pending requests · Leash`);
    // The list refresh carries the same count and note.
    const frag = (await (await quinn.request.get(`${stack.url}/console/fragments/pending`)).json()) as {
      count: number;
      html: string;
    };
    expect(frag.count).toBe(asked.length);
    expect(frag.html).toContain(`${more} more not shown`);
    // Narrowing by risk brings the rest within one page.
    const lows = await queueOf(quinn, '/console?risk=low', 2);
    expect(lows).toEqual(expected.slice(-2));
    expect(await quinn.getByTestId('pending-more').count()).toBe(0);

    // A request that is no longer pending leaves the queue; the count follows.
    const first = expected[0];
    expect((await stack.call('DELETE', `/v1/requests/${first}`, { token: agentToken })).status).toBe(200);
    const after = await queueOf(quinn, '/console', asked.length - 1);
    expect(after[0]).toBe(expected[1]);
  });

  it('leash request --wait says on stderr when the approver narrowed the TTL: asked, granted, by whom', async () => {
    const env = { LEASH_URL: stack.url, LEASH_TOKEN: agentToken };
    const run = startLeash(
      ['request', 'demo-prod-write', '--env', 'production', '--reason', 'narrow me', '--ttl', '5m', '--wait'],
      env,
    );
    try {
      const [, id] = await run.waitFor(/approve at \S+\/(req-[a-z2-7]{20})/);
      const alice = await stack.devToken({ subject: 'alice' });
      expect(
        (await stack.call('POST', `/v1/requests/${id}/approve`, { token: alice, body: { ttlSeconds: 30 } })).status,
      ).toBe(200);
      const result = await run.exited;
      expect(result.code).toBe(0);
      const claim = JSON.parse(result.stdout) as { credential: { token: string } };
      stack.issuedSecrets.push(claim.credential.token);
      expect(result.stderr).toContain('TTL narrowed: asked 300s, granted 30s (by alice when approving)');
      // The note is for the human: stdout holds the credential only.
      expect(result.stdout).not.toContain('narrowed');
    } finally {
      run.kill('SIGKILL');
    }
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});

describe('pending request index on a real redis-server: order, audience, filters and counts match a model', () => {
  let server: RedisServer;
  let redis: Redis;
  let sut: WebConsoleNotifier;

  beforeAll(async () => {
    server = await RedisServer.start('redis-pending-index');
    redis = server.client();
    sut = new WebConsoleNotifier(redis, '{test}', { log: () => undefined });
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  const GROUPS = ['prod', 'staging', 'security', 'sre'];
  const ENVS = ['production', 'staging', 'dev'];
  const ROLES = ['write', 'read', 'admin'];
  const LEVELS: RiskLevel[] = ['low', 'medium', 'high', 'critical'];

  function request(i: number, rnd: () => number): AccessRequest {
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
    const groups = [...new Set([pick(GROUPS), ...(rnd() < 0.3 ? [pick(GROUPS)] : [])])];
    return {
      id: `req_${String(i).padStart(5, '0')}`,
      environment: pick(ENVS),
      role: pick(ROLES),
      risk: { level: pick(LEVELS), reasons: [] },
      createdAt: 1_790_000_000_000 + Math.floor(rnd() * 1_000_000),
      approval: { kind: 'quorum', requirements: groups.map((g) => ({ groups: [g], quorum: 1 })) },
    } as unknown as AccessRequest;
  }

  it('answers every query like a model of the queue (2,000 requests, requests in several groups counted once)', async () => {
    let seed = 42;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const requests = Array.from({ length: 2000 }, (_, i) => request(i, rnd));
    for (const r of requests) {
      await sut.add(r);
    }
    // A few are decided: they leave every set they were in.
    for (const r of requests.slice(0, 50)) {
      await sut.remove(r.id);
    }
    const live = requests.slice(50);
    const groupsOf = (r: AccessRequest): string[] =>
      r.approval.kind === 'quorum' ? r.approval.requirements.flatMap((q) => q.groups) : [];
    const model = (q: PendingQuery): { ids: string[]; total: number } => {
      const match = live
        .filter(
          (r) =>
            q.audience.kind === 'all' ||
            groupsOf(r).some((g) => q.audience.kind === 'groups' && q.audience.groups.includes(g)),
        )
        .filter(
          (r) =>
            (q.environment === undefined || r.environment === q.environment) &&
            (q.role === undefined || r.role === q.role),
        )
        .filter((r) => q.risk === undefined || r.risk.level === q.risk)
        .sort((a, b) => RANK[a.risk.level] - RANK[b.risk.level] || a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
      return { ids: match.slice(0, q.limit).map((r) => r.id), total: match.length };
    };
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          audience: fc.oneof(
            fc.constant({ kind: 'all' as const }),
            fc.record({ kind: fc.constant('groups' as const), groups: fc.subarray(GROUPS, { minLength: 1 }) }),
          ),
          environment: fc.option(fc.constantFrom(...ENVS), { nil: undefined }),
          role: fc.option(fc.constantFrom(...ROLES), { nil: undefined }),
          risk: fc.option(fc.constantFrom(...LEVELS), { nil: undefined }),
          limit: fc.integer({ min: 1, max: 150 }),
        }),
        async (q) => {
          const got = await sut.list(q);
          expect(got).toEqual(model(q));
        },
      ),
      { numRuns: 150 },
    );
    // The scratch key of a union never outlives the read.
    expect(await redis.exists('{test}:console:queue:scratch')).toBe(0);
  });

  it('moves entries of the index written before the risk order (a set by creation time) out, once', async () => {
    await redis.zadd('{test}:console:pending', 1, 'req_legacy1', 2, 'req_legacy2');
    expect(await sut.takeLegacy(100)).toEqual(['req_legacy1', 'req_legacy2']);
    expect(await sut.takeLegacy(100)).toEqual([]);
  });
});
