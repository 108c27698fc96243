import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { LeashStack } from '../support/leash-stack';
import { LEASH_BIN, runLeash, stopAllLeash } from '../support/leash-cli';
import { expectProblem } from '../support/expect-problem';
import { eventually } from '../support/eventually';

const ARTIFACTS = join(__dirname, '..', '..', '.test-artifacts', 'console');
const BRIEF_PLAN = readFileSync(join(__dirname, '../../deploy/examples/brief-plan.tf'), 'utf8');

// Secret-shaped text an agent might paste into a log line: an AWS key pair and a JWT (made here, per run).
const b64url = (v: string | Buffer): string => Buffer.from(v).toString('base64url');
const AWS_KEY_ID = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
const AWS_SECRET = `${randomBytes(30).toString('base64').replace(/[+/]/g, 'Q').slice(0, 36)}aB3/`;
const JWT = [
  b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' })),
  b64url(JSON.stringify({ sub: 'pasted', exp: 4102444800 })),
  b64url(randomBytes(32)),
].join('.');

describe('agent session events and the session dashboard (real API, CLI and Chromium)', () => {
  let stack: LeashStack;
  let browser: Browser;
  let home: string;
  let auditDir: string;
  let agent: string;
  let otherAgent: string;
  let alice: string;
  let admin: string;
  let mallory: string;
  const contexts: BrowserContext[] = [];

  const post = (session: string, token: string, body: unknown, headers: Record<string, string> = {}) =>
    stack.call('POST', `/v1/sessions/${session}/events`, { token, body, headers });
  const events = async (session: string, token = agent): Promise<Record<string, any>[]> => {
    const res = await stack.call('GET', `/v1/sessions/${session}/events`, { token });
    expect(res.status).toBe(200);
    return res.body.events as Record<string, any>[];
  };
  const register = async (id: string, token = agent): Promise<void> => {
    const res = await stack.call('POST', '/v1/sessions', { token, body: { id, idleSeconds: 3600, agent: 'codex' } });
    expect(res.status).toBe(201);
  };
  const request = async (session: string, reason: string, plan?: string): Promise<string> => {
    const res = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: {
        role: 'demo-prod-write',
        environment: 'production',
        ttlSeconds: 600,
        reason,
        session: { id: session, agent: 'codex', host: 'laptop-7' },
        ...(plan ? { context: { plan } } : {}),
      },
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    home = mkdtempSync(join(tmpdir(), 'leash-session-dash-'));
    auditDir = join(home, 'audit-export');
    stack = await LeashStack.start({
      name: 'session-dash',
      env: { LEASH_AUDIT_JSONL_DIR: auditDir },
      // One approver for demo-prod-write whatever the demo's risk routing: this suite is about the dashboard.
      policy: (doc) => {
        delete doc.riskRouting;
        const roles = doc.roles as { id: string; approval: unknown }[];
        const role = roles.find((r) => r.id === 'demo-prod-write');
        if (role) {
          role.approval = { groups: ['prod-approvers'], quorum: 1, timeout: '15m', claimWindow: '10m' };
        }
        return doc;
      },
    });
    agent = await stack.devToken({ subject: 'agent-dash', owner: 'bob' });
    otherAgent = await stack.devToken({ subject: 'agent-other' });
    alice = await stack.devToken({ subject: 'alice' });
    admin = await stack.devToken({ subject: 'admin' });
    mallory = await stack.devToken({ subject: 'mallory' });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  });

  afterAll(async () => {
    await Promise.allSettled(contexts.map((c) => c.close()));
    await browser?.close();
    stopAllLeash();
    await stack?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it("POST /v1/sessions/:id/events: only the session's requester; malformed, oversized, forged and replayed input is a 4xx problem", async () => {
    await register('dash-api');
    const ok = await post('dash-api', agent, { step: 'understand', level: 'info', message: 'Agent started workflow' });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({
      sessionId: 'dash-api',
      step: 'understand',
      level: 'info',
      kind: 'log',
      message: 'Agent started workflow',
      by: 'agent-dash',
      redacted: false,
    });

    // Forged: another agent, an approver, an admin: none of them is the session's requester.
    for (const token of [otherAgent, alice, admin]) {
      expectProblem(await post('dash-api', token, { level: 'info', message: 'forged' }), 403, /forbidden/);
    }
    expectProblem(
      await stack.call('POST', '/v1/sessions/dash-api/events', { body: { level: 'info', message: 'x' } }),
      401,
    );
    // An id nobody holds yet becomes the reporter's (as with requests); then it is refused to anyone else.
    expect((await post('dash-new', agent, { level: 'info', message: 'first' })).status).toBe(201);
    expectProblem(await post('dash-new', otherAgent, { level: 'info', message: 'squat' }), 403, /forbidden/);

    // Malformed.
    const malformed: unknown[] = [
      { level: 'debug', message: 'x' },
      { level: 'info', step: 'deploy', message: 'x' },
      { level: 'info', message: 'x', extra: true },
      { level: 'info', message: '   ' },
      { level: 'info' },
      { level: 'info', message: 'x'.repeat(2001) },
      [],
    ];
    for (const body of malformed) {
      expectProblem(await post('dash-api', agent, body), 400);
    }
    expectProblem(await stack.call('POST', '/v1/sessions/dash-api/events', { token: agent, raw: '{"level":' }), 400);
    expectProblem(await post('bad$id', agent, { level: 'info', message: 'x' }), 400);
    // Oversized beyond the body limit (64 KiB).
    expectProblem(await post('dash-api', agent, { level: 'info', message: 'x'.repeat(70_000) }), 413);

    // Replayed with its Idempotency-Key: the same answer, no second event; another body under the key: 400.
    const key = { 'idempotency-key': 'evt-plan-1' };
    const first = await post('dash-api', agent, { step: 'plan', level: 'info', message: 'Plan ready' }, key);
    expect(first.status).toBe(201);
    const replay = await post('dash-api', agent, { step: 'plan', level: 'info', message: 'Plan ready' }, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    expectProblem(await post('dash-api', agent, { level: 'info', message: 'other' }, key), 400);
    expect((await events('dash-api')).map((e) => e.message)).toEqual(['Agent started workflow', 'Plan ready']);

    // After the session ended it takes no more events.
    expect((await stack.call('DELETE', '/v1/sessions/dash-api', { token: agent })).status).toBe(200);
    expectProblem(await post('dash-api', agent, { level: 'info', message: 'late' }), 409, /conflict/);
    expect(await events('dash-api')).toHaveLength(2);
  });

  it('GET /v1/sessions/:id/events: the requester, approvers of its roles and admins; nobody else', async () => {
    await register('dash-read');
    expect((await post('dash-read', agent, { level: 'info', message: 'hello' })).status).toBe(201);
    // Before the session asks for anything, no approver has a reason to read it.
    expectProblem(await stack.call('GET', '/v1/sessions/dash-read/events', { token: alice }), 403);
    await request('dash-read', 'read check');
    for (const token of [agent, alice, admin]) {
      expect((await events('dash-read', token)).map((e) => e.message)).toEqual(['hello']);
    }
    for (const token of [otherAgent, mallory]) {
      expectProblem(await stack.call('GET', '/v1/sessions/dash-read/events', { token }), 403);
    }
    expectProblem(await stack.call('GET', '/v1/sessions/dash-read/events?limit=0', { token: agent }), 400);
    expectProblem(await stack.call('GET', '/v1/sessions/dash-read/events?after=x', { token: agent }), 400);
    const [first] = await events('dash-read');
    expect((await post('dash-read', agent, { level: 'warn', message: 'second' })).status).toBe(201);
    const after = await stack.call('GET', `/v1/sessions/dash-read/events?after=${first.id as string}`, {
      token: agent,
    });
    expect(after.body.events.map((e: { message: string }) => e.message)).toEqual(['second']);
  });

  it('limits the rate per session and per principal with 429 problem+json', async () => {
    const rater = await stack.devToken({ subject: 'agent-rate' });
    await register('dash-rate-1', rater);
    await register('dash-rate-2', rater);
    await register('dash-rate-3', rater);
    const statuses: number[] = [];
    for (let i = 0; i < 61; i += 1) {
      statuses.push((await post('dash-rate-1', rater, { level: 'info', message: `line ${i}` })).status);
    }
    expect(statuses.slice(0, 60).every((s) => s === 201)).toBe(true);
    const limited = await post('dash-rate-1', rater, { level: 'info', message: 'over' });
    expectProblem(limited, 429, /rate-limited/);
    expect(limited.body.detail).toContain('session dash-rate-1');
    // Another session of the same principal has its own budget, until the principal's is spent (120).
    for (let i = 0; i < 60; i += 1) {
      expect((await post('dash-rate-2', rater, { level: 'info', message: `line ${i}` })).status).toBe(201);
    }
    const principal = await post('dash-rate-3', rater, { level: 'info', message: 'third session' });
    expectProblem(principal, 429, /rate-limited/);
    expect(principal.body.detail).toContain('this principal');
    // Refused events were not stored.
    expect(await events('dash-rate-1', rater)).toHaveLength(60);
    expect(await events('dash-rate-3', rater)).toHaveLength(0);
  });

  it('redacts secrets with the log redactor: stored, listed, audited and exported redacted', async () => {
    await register('dash-redact');
    stack.issuedSecrets.push(AWS_SECRET, JWT);
    const message = `read config: aws_access_key_id=${AWS_KEY_ID} aws_secret_access_key=${AWS_SECRET} token ${JWT}`;
    const res = await post('dash-redact', agent, { step: 'execute', level: 'warn', message });
    expect(res.status).toBe(201);
    expect(res.body.redacted).toBe(true);
    for (const text of [res.body.message as string, (await events('dash-redact'))[0].message as string]) {
      expect(text).toContain('[redacted-aws-secret]');
      expect(text).toContain('[redacted-jwt]');
      expect(text).toContain('[redacted-aws-key-id]');
      expect(text).not.toContain(AWS_SECRET);
      expect(text).not.toContain(AWS_KEY_ID);
      expect(text).not.toContain(JWT.split('.')[2]);
    }
    const audit = await stack.call('GET', '/v1/audit?session=dash-redact&action=session.event', { token: admin });
    expect(audit.status).toBe(200);
    expect(audit.body.events).toEqual([
      expect.objectContaining({
        action: 'session.event',
        sessionId: 'dash-redact',
        actor: { id: 'agent-dash', channel: 'api' },
        details: expect.objectContaining({ level: 'warn', step: 'execute', redacted: true }),
      }),
    ]);
    // The audit export (JSON lines written by the worker) carries the event, redacted. Wait for that event's own
    // line: the session's registration is exported first, and may be all the export holds yet.
    const exported = await eventually(() => {
      const files = (() => {
        try {
          return readdirSync(auditDir);
        } catch {
          return [];
        }
      })();
      const text = files.map((f) => readFileSync(join(auditDir, f), 'utf8')).join('\n');
      const line = text.split('\n').find((l) => l.includes('"action":"session.event"') && l.includes('"dash-redact"'));
      return line === undefined ? undefined : text;
    }, 60_000);
    expect(exported).toContain('[redacted-aws-secret]');
    expect(exported).not.toContain(AWS_SECRET);
    expect(exported).not.toContain(JWT.split('.')[2]);
  });

  it('leash event reports through the session agent under leash run; usage errors exit 2', async () => {
    const leash = `"${process.execPath}" "${LEASH_BIN}"`;
    const script = [
      `${leash} event --step plan "Plan ready: 3 resources"`,
      `${leash} event --level warn Sensitive resource detected`,
      `${leash} event --step deploy nope; echo "bad-step=$?"`,
      `${leash} event --level loud nope; echo "bad-level=$?"`,
      `${leash} event; echo "no-message=$?"`,
    ].join('; ');
    const env = { HOME: home, XDG_RUNTIME_DIR: home, LEASH_URL: stack.url, LEASH_TOKEN: agent };
    const run = await runLeash(['run', '--session', 'dash-cli', '--', 'sh', '-c', script], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('bad-step=2');
    expect(run.stdout).toContain('bad-level=2');
    expect(run.stdout).toContain('no-message=2');
    const seen = await events('dash-cli');
    expect(seen.map((e) => [e.step ?? null, e.level, e.message, e.by])).toEqual([
      ['plan', 'info', 'Plan ready: 3 resources', 'agent-dash'],
      [null, 'warn', 'Sensitive resource detected', 'agent-dash'],
    ]);

    // Outside leash run: LEASH_SESSION and an identity; without a session it is a usage error.
    await register('dash-cli2');
    const direct = await runLeash(['event', '--step', 'validate', 'checked'], { ...env, LEASH_SESSION: 'dash-cli2' });
    expect(direct.code).toBe(0);
    expect((await events('dash-cli2')).map((e) => [e.step, e.message])).toEqual([['validate', 'checked']]);
    const none = await runLeash(['event', 'hello'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('needs an agent session');
  });

  it('leash scan --report sends the endpoint posture (fingerprints only) to the real broker', async () => {
    const scanHome = join(home, 'scan-home');
    mkdirSync(join(scanHome, '.aws'), { recursive: true });
    const standing = `${randomBytes(30).toString('base64').replace(/[+/]/g, 'x').slice(0, 40)}`;
    stack.issuedSecrets.push(standing);
    writeFileSync(
      join(scanHome, '.aws', 'credentials'),
      `[production]\naws_access_key_id = AKIA${randomBytes(8).toString('hex').toUpperCase()}\naws_secret_access_key = ${standing}\n`,
    );
    await register('dash-ui');
    const scan = await runLeash(['scan', '--report', '--session', 'dash-ui'], {
      HOME: scanHome,
      LEASH_URL: stack.url,
      LEASH_TOKEN: agent,
      LEASH_CONFIG: join(scanHome, 'none.json'),
    });
    expect(scan.stderr).toContain('posture reported to session dash-ui');
    expect(scan.code).toBe(3);
    const posture = (await events('dash-ui')).filter((e) => e.kind === 'posture');
    expect(posture).toHaveLength(1);
    expect(posture[0]).toMatchObject({ level: 'warn', by: 'agent-dash' });
    expect(posture[0].message).toMatch(/^endpoint posture: 1 standing credential\(s\), 1 reaching production/);
    expect(posture[0].message).not.toContain(standing);
    expect(posture[0].message).not.toContain(standing.slice(-4));
  });

  async function devLogin(page: Page, subject: string, path: string, groups = ''): Promise<void> {
    await page.goto(`${stack.url}/console/login?returnTo=${encodeURIComponent(path)}`);
    await page.locator('input[name=subject]').fill(subject);
    await page.locator('input[name=groups]').fill(groups);
    await page.getByTestId('dev-login-submit').click();
    await page.waitForURL(`${stack.url}${path}`);
  }

  it('the dashboard shows identity, secrets by fingerprint, audit, live logs and the current step, with the pending decision; updates live; fits 390 px', async () => {
    // The session holds production access (an issued lease) and asks for more with the brief's plan.
    const first = await request('dash-ui', 'roll out api 2.4.0');
    expect((await stack.call('POST', `/v1/requests/${first}/approve`, { token: alice, body: {} })).status).toBe(200);
    const claim = await stack.call('POST', `/v1/requests/${first}/credentials`, { token: agent });
    expect(claim.status).toBe(201);
    const secret = (claim.body.credential as { token: string }).token;
    await post('dash-ui', agent, { step: 'understand', level: 'info', message: 'Agent started workflow' });
    await post('dash-ui', agent, { step: 'plan', level: 'warn', message: 'Sensitive resource detected: roles/editor' });
    const pending = await request(
      'dash-ui',
      'grant the deployer editor on acme-prod and roll out api 2.4.1',
      BRIEF_PLAN,
    );

    // The request page links to its session's dashboard.
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    contexts.push(context);
    const page = await context.newPage();
    await devLogin(page, 'dave', `/console/requests/${pending}`, 'prod-approvers');
    await page.getByTestId('session-link').click();
    await page.waitForURL(`${stack.url}/console/sessions/dash-ui`);

    await expect(page.getByTestId('session-requester').textContent()).resolves.toBe('agent-dash');
    await expect(page.getByTestId('viewer').textContent()).resolves.toBe('dave');
    await expect(page.getByTestId('viewer-mfa').textContent()).resolves.toBe('MFA verified');
    await expect(page.getByTestId('production-access').textContent()).resolves.toContain('PRIVILEGED SESSION ACTIVE');
    const secrets = (await page.getByTestId('secrets').textContent()) ?? '';
    expect(secrets).toContain(`…${secret.slice(-4)} ACTIVE`);
    expect(await page.content()).not.toContain(secret);
    await expect(page.getByTestId('session-audit').textContent()).resolves.toMatch(/credential\.issued/);
    const postureRow = page.locator('ol.logs li.posture');
    await expect(postureRow.count()).resolves.toBe(1);
    await expect(postureRow.textContent()).resolves.toContain('ENDPOINT POSTURE');
    await expect(page.locator('[aria-current="step"]').getAttribute('data-step')).resolves.toBe('plan');
    // The pending request: risk and plan before the decision controls, with the typed confirmation.
    const order = await page.evaluate<number[]>(
      `['#h-risk', '#h-plan', '#h-decision'].map((s) => { const el = document.querySelector(s); return el ? el.getBoundingClientRect().top + window.scrollY : -1; })`,
    );
    expect(order.every((top) => top >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    await expect(page.locator('.risk-card').textContent()).resolves.toContain('Potential security risk');
    await expect(page.getByTestId('confirm-environment').isVisible()).resolves.toBe(true);
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);

    // Live: new events appear without a reload, and the highlighted step follows the agent.
    await page.evaluate('window.__sameDocument = true');
    await post('dash-ui', agent, { step: 'request_approval', level: 'info', message: 'Approval required' });
    await page.locator('ol.logs li', { hasText: 'Approval required' }).waitFor({ timeout: 30_000 });
    await eventually(
      async () =>
        (await page.locator('[aria-current="step"]').getAttribute('data-step')) === 'request_approval'
          ? true
          : undefined,
      30_000,
    );
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    // Agent text arriving live is shown as text: no element is created, nothing runs.
    const xss = '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = 2</script>';
    await post('dash-ui', agent, { level: 'error', message: xss });
    await page.locator('ol.logs li.log-error', { hasText: '<img src=x' }).waitFor({ timeout: 30_000 });
    await expect(page.locator('ol.logs li.log-error .msg').textContent()).resolves.toBe(xss);
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    const lines = await page.locator('ol.logs li').allTextContents();
    expect(lines.find((l) => l.includes('Approval required'))).toMatch(
      /\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+INFO\s+Request Approval\s+Approval required/,
    );
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(ARTIFACTS, 'session-dashboard-phone.png'), fullPage: true });

    const wide = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(wide);
    const desk = await wide.newPage();
    await devLogin(desk, 'dave', '/console/sessions/dash-ui', 'prod-approvers');
    await desk.screenshot({ path: join(ARTIFACTS, 'session-dashboard.png'), fullPage: true });

    // Approving from the dashboard goes through the same server checks (typed environment).
    await page.getByTestId('confirm-environment').fill('production');
    await page.getByTestId('approve').click();
    await page.waitForURL(/done=approved/);
    expect((await stack.call('GET', `/v1/requests/${pending}`, { token: agent })).body.state).toBe('approved');
  });

  it('the dashboard is for the requester, approvers of its roles and admins only', async () => {
    const context = await browser.newContext({ viewport: { width: 1024, height: 800 } });
    contexts.push(context);
    const stranger = await context.newPage();
    await devLogin(stranger, 'mallory', '/console/sessions/dash-ui');
    await expect(stranger.getByTestId('error').textContent()).resolves.toContain(
      "only the session's requester, its owner, approvers of its requests' roles and admins may see an agent session",
    );
    const missing = await stranger.goto(`${stack.url}/console/sessions/dash-missing`);
    expect(missing?.status()).toBe(404);
    const bad = await stranger.goto(`${stack.url}/console/sessions/bad$id`);
    expect(bad?.status()).toBe(400);
    const fragment = await stranger.request.get(`${stack.url}/console/fragments/sessions/dash-ui`);
    expect(fragment.status()).toBe(403);

    for (const subject of ['agent-dash', 'admin']) {
      const ctx = await browser.newContext();
      contexts.push(ctx);
      const page = await ctx.newPage();
      await devLogin(page, subject, '/console/sessions/dash-ui');
      await expect(page.getByTestId('session-requester').textContent()).resolves.toBe('agent-dash');
    }
  });

  it('leaks no issued or reported secret into logs or Redis', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
