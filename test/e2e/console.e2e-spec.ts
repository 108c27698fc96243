import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freePort } from '../support/free-port';
import { LeashStack } from '../support/leash-stack';
import { IDP_CLIENT, OidcIdp, type IdpUser } from '../fakes/oidc-idp';

const ARTIFACTS = join(__dirname, '..', '..', '.test-artifacts', 'console');
const USERS: IdpUser[] = [
  { sub: 'carol', password: 'carol-pw', email: 'carol@example.test', groups: ['prod-approvers'], amr: ['pwd', 'otp'] },
  { sub: 'dave', password: 'dave-pw', email: 'dave@example.test', groups: ['prod-approvers'], amr: ['pwd'] },
  { sub: 'bob', password: 'bob-pw', email: 'bob@example.test', groups: ['prod-approvers'], amr: ['pwd', 'otp'] },
  { sub: 'erin', password: 'erin-pw', email: 'erin@example.test', groups: ['staging-approvers'], amr: ['pwd', 'otp'] },
  { sub: 'mallory', password: 'mallory-pw', email: 'mallory@example.test', groups: ['developers'], amr: ['pwd'] },
  // demo-prod-admin needs one of security AND one of sre, each with MFA; riley signs in without it.
  { sub: 'sam', password: 'sam-pw', email: 'sam@example.test', groups: ['security'], amr: ['pwd', 'hwk'] },
  { sub: 'riley', password: 'riley-pw', email: 'riley@example.test', groups: ['sre'], amr: ['pwd'] },
  { sub: 'admin', password: 'admin-pw', email: 'admin@example.test', groups: ['leash-admins'], amr: ['pwd', 'otp'] },
];
const XSS_PLAN = [
  'terraform plan: 1 to change',
  '<script>window.__pwned = "script"</script>',
  '<img src=x onerror="window.__pwned = \'img\'">',
  '  ~ aws_s3_bucket.logs  versioning = true',
].join('\n');

describe('approver console: OIDC login, pending list, decision, revoke (real Chromium)', () => {
  let stack: LeashStack;
  let idp: OidcIdp;
  let browser: Browser;
  let agentToken: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const idpPort = await freePort();
    stack = await LeashStack.start({
      name: 'console',
      env: {
        LEASH_OIDC_ISSUER: `http://127.0.0.1:${idpPort}`,
        LEASH_OIDC_CLIENT_ID: IDP_CLIENT.id,
        LEASH_OIDC_CLIENT_SECRET: IDP_CLIENT.secret,
      },
      policy: (doc) => {
        const groups = doc.approverGroups as Record<string, unknown>;
        groups['staging-approvers'] = { members: [], idpGroups: ['staging-approvers'] };
        // One approver decides here; the demo's risk routing (two approvers with MFA for high/critical) is
        // covered by demo-routing.e2e-spec.
        delete doc.riskRouting;
        return doc;
      },
    });
    idp = await OidcIdp.start(USERS, `${stack.url}/console/callback`, idpPort);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    agentToken = await stack.devToken({ subject: 'agent-console', owner: 'bob' });
  });

  afterAll(async () => {
    await Promise.allSettled(contexts.map((c) => c.close()));
    await browser?.close();
    await idp?.stop();
    await stack?.stop();
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    return context.newPage();
  }

  async function oidcLogin(page: Page, user: string, path = '/console'): Promise<void> {
    await page.goto(`${stack.url}${path}`);
    await page.getByTestId('oidc-login').click();
    await page.locator('#login').fill(user);
    await page.locator('#password').fill(`${user}-pw`);
    await page.locator('#submit').click();
    await page.waitForURL((url) => url.href.startsWith(`${stack.url}/console`));
  }

  async function createRequest(reason: string, plan?: string): Promise<string> {
    const created = await stack.call('POST', '/v1/requests', {
      token: agentToken,
      body: {
        role: 'demo-prod-write',
        environment: 'production',
        ttlSeconds: 300,
        reason,
        session: { id: 'sess-console', agent: 'codex', host: 'laptop-7' },
        context: { ...(plan ? { plan } : {}), ticket: 'OPS-42' },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.approvalUrl).toBe(`${stack.url}/console/requests/${created.body.id}`);
    return created.body.id as string;
  }

  it('logs in with OIDC (code + PKCE), sees a pending request appear, approves it, and the agent claims', async () => {
    const page = await newPage();
    await oidcLogin(page, 'carol');
    expect(idp.logins).toContain('carol');
    await expect(page.getByTestId('who').textContent()).resolves.toBe('carol');
    await expect(page.getByTestId('mfa-status').textContent()).resolves.toBe('MFA verified');
    const before = Number(await page.getByTestId('pending-count').textContent());

    const id = await createRequest('rotate <b>prod</b> logs bucket', XSS_PLAN);
    // The list refreshes itself: the new row appears without a reload, and the title counts it.
    const row = page.locator(`[data-request-id="${id}"]`);
    await row.waitFor();
    await expect(page.title()).resolves.toBe(`(${before + 1}) Pending requests · Leash`);
    await page.screenshot({ path: join(ARTIFACTS, 'pending-list.png'), fullPage: true });

    await row.getByRole('link').click();
    await page.waitForURL(`${stack.url}/console/requests/${id}`);
    // Agent text is shown as text: the markup is visible, nothing ran, no element was created.
    await expect(page.getByTestId('plan').textContent()).resolves.toBe(XSS_PLAN);
    await expect(page.getByTestId('reason').textContent()).resolves.toBe('rotate <b>prod</b> logs bucket');
    expect(await page.locator('main img, main b, main script').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    await expect(page.getByTestId('requester').textContent()).resolves.toBe('agent-console');
    await expect(page.getByTestId('quorum').textContent()).resolves.toBe('0 of 1: prod-approvers');
    await page.screenshot({ path: join(ARTIFACTS, 'request-page.png'), fullPage: true });

    // Narrow while approving: 300 s asked, 60 s approved; the agent gets exactly the narrowed terms.
    await page.locator('input[name="ttlSeconds"]').fill('60');
    // An unreadable plan makes the production request high risk: approving it means typing the environment.
    await page.getByTestId('confirm-environment').fill('production');
    await page.getByTestId('approve').click();
    await page.waitForURL(`${stack.url}/console/requests/${id}?done=approved`);
    await expect(page.getByTestId('flash').textContent()).resolves.toBe('Your approval is recorded.');
    await expect(page.getByTestId('decision-disabled').textContent()).resolves.toContain('approved');

    const view = await stack.call('GET', `/v1/requests/${id}`, { token: agentToken });
    expect(view.body).toMatchObject({
      state: 'approved',
      ttlSeconds: 60,
      approvals: [{ approver: 'carol', channel: 'web' }],
    });
    const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agentToken });
    expect(claim.status).toBe(201);
    const lease = claim.body.lease as { issuedAt: string; expiresAt: string };
    expect(Date.parse(lease.expiresAt) - Date.parse(lease.issuedAt)).toBeLessThanOrEqual(60_000);

    // The page now shows the issued lease by fingerprint only, and the audit trail of the web approval.
    await page.reload();
    const secret = (claim.body.credential as { token: string }).token;
    const text = (await page.textContent('main')) ?? '';
    expect(text).toContain(`…${secret.slice(-4)} ACTIVE`);
    expect(text).not.toContain(secret);
    await expect(page.getByTestId('audit').textContent()).resolves.toMatch(/request\.approved by carol\s+via web/);
  });

  it('shows the decision disabled, with the reason, to the owner and the requester; other groups cannot read it', async () => {
    const id = await createRequest('owner check');
    const owner = await newPage();
    await oidcLogin(owner, 'bob', `/console/requests/${id}`);
    await owner.waitForURL(`${stack.url}/console/requests/${id}`);
    await expect(owner.getByTestId('approve').isDisabled()).resolves.toBe(true);
    await expect(owner.getByTestId('deny').isDisabled()).resolves.toBe(true);
    await expect(owner.getByTestId('decision-disabled').textContent()).resolves.toContain(
      'the owner (bob) launched this agent and cannot approve',
    );
    await owner.screenshot({ path: join(ARTIFACTS, 'request-owner-disabled.png'), fullPage: true });

    // Membership in an approver group that cannot approve this role gives nothing, not even reading it.
    const other = await newPage();
    await oidcLogin(other, 'erin', `/console/requests/${id}`);
    await expect(other.getByTestId('error').textContent()).resolves.toContain(
      'only the requester, its owner, approvers of its role and admins may read this request',
    );

    // The requester itself, through the development sign-in (dev issuer on in this stack).
    const requester = await newPage();
    await requester.goto(`${stack.url}/console/login?returnTo=${encodeURIComponent(`/console/requests/${id}`)}`);
    await requester.locator('input[name=subject]').fill('agent-console');
    await requester.locator('input[name=groups]').fill('');
    await requester.getByTestId('dev-login-submit').click();
    await requester.waitForURL(`${stack.url}/console/requests/${id}`);
    await expect(requester.getByTestId('approve').isDisabled()).resolves.toBe(true);
    await expect(requester.getByTestId('decision-disabled').textContent()).resolves.toContain(
      'the requester cannot approve or deny its own request',
    );

    // A non-member cannot read the request at all, and is told why.
    const stranger = await newPage();
    await oidcLogin(stranger, 'mallory', `/console/requests/${id}`);
    await expect(stranger.getByTestId('error').textContent()).resolves.toContain(
      'only the requester, its owner, approvers of its role and admins may read this request',
    );
    await stranger.goto(`${stack.url}/console`);
    await expect(stranger.getByTestId('queue-refused').isVisible()).resolves.toBe(true);

    // The owner's forged POST (bypassing the disabled button) is refused on the server too.
    const csrf = await owner.locator('form.approve input[name=_csrf]').inputValue();
    const forced = await owner.request.post(`${stack.url}/console/requests/${id}/approve`, {
      form: { _csrf: csrf },
      maxRedirects: 0,
    });
    expect(forced.status()).toBe(403);
    expect((await stack.call('GET', `/v1/requests/${id}`, { token: agentToken })).body.state).toBe('pending');
  });

  it('refuses state-changing posts without the CSRF token or with a forged one, and bad input with 4xx', async () => {
    const id = await createRequest('csrf check');
    const page = await newPage();
    await oidcLogin(page, 'dave');
    const post = (path: string, form: Record<string, string>) =>
      page.request.post(`${stack.url}${path}`, { form, maxRedirects: 0 });

    const missing = await post(`/console/requests/${id}/approve`, {});
    expect(missing.status()).toBe(403);
    expect(await missing.text()).toContain('CSRF token is missing or wrong');
    const forged = await post(`/console/requests/${id}/deny`, { _csrf: 'A'.repeat(43), comment: 'x' });
    expect(forged.status()).toBe(403);
    expect((await stack.call('GET', `/v1/requests/${id}`, { token: agentToken })).body.state).toBe('pending');

    await page.goto(`${stack.url}/console/requests/${id}`);
    const csrf = await page.locator('form.deny input[name=_csrf]').inputValue();
    expect((await post(`/console/requests/bad$id/deny`, { _csrf: csrf })).status()).toBe(400);
    expect((await post(`/console/requests/${id}/deny`, { _csrf: csrf, extra: '1' })).status()).toBe(400);
    expect((await post(`/console/requests/${id}/deny`, { _csrf: csrf, comment: 'x'.repeat(20000) })).status()).toBe(
      400,
    );
    // Over LEASH_BODY_LIMIT_BYTES (64 KiB by default, shared with Slack callbacks and introspection).
    expect((await post(`/console/requests/${id}/deny`, { _csrf: csrf, comment: 'x'.repeat(70000) })).status()).toBe(
      413,
    );
    expect((await post(`/console/requests/${id}/approve`, { _csrf: csrf, ttlSeconds: 'soon' })).status()).toBe(400);
    // Narrowing may only shorten: a longer TTL than asked is refused and records nothing.
    expect((await post(`/console/requests/${id}/approve`, { _csrf: csrf, ttlSeconds: '99999' })).status()).toBe(400);
    expect((await post(`/console/requests/req_doesnotexist/deny`, { _csrf: csrf })).status()).toBe(404);

    // With the token, a deny with a comment goes through the same use case (channel web).
    const denied = await post(`/console/requests/${id}/deny`, { _csrf: csrf, comment: 'not during the freeze' });
    expect(denied.status()).toBe(303);
    const view = await stack.call('GET', `/v1/requests/${id}`, { token: agentToken });
    expect(view.body).toMatchObject({ state: 'denied', denial: { by: 'dave', comment: 'not during the freeze' } });
    await page.goto(`${stack.url}/console/requests/${id}`);
    await expect(page.getByTestId('decision-disabled').textContent()).resolves.toContain('denied');
  });

  it('revokes a lease from the leases page, which makes introspection inactive', async () => {
    const id = await createRequest('lease to revoke');
    const page = await newPage();
    await oidcLogin(page, 'carol', `/console/requests/${id}`);
    await page.getByTestId('approve').click();
    await page.waitForURL(/done=approved/);
    const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agentToken });
    expect(claim.status).toBe(201);
    const token = (claim.body.credential as { token: string }).token;
    const introspect = async (): Promise<boolean> => (await stack.introspect(token)).body.active as boolean;
    expect(await introspect()).toBe(true);

    await page.goto(`${stack.url}/console/leases?session=sess-console`);
    const row = page.locator(`[data-lease-id="${claim.body.lease.id}"]`);
    await expect(row.locator('.countdown').textContent()).resolves.toMatch(/^in \d/);
    await page.screenshot({ path: join(ARTIFACTS, 'leases-page.png'), fullPage: true });
    await row.getByTestId('revoke').click();
    await page.waitForURL(/done=revoked/);
    expect(await introspect()).toBe(false);
    expect(await page.locator(`[data-lease-id="${claim.body.lease.id}"]`).count()).toBe(0);
  });

  it('an MFA-required role cannot be approved by an approver who signed in without MFA; one with MFA can', async () => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agentToken,
      body: {
        role: 'demo-prod-admin',
        environment: 'production',
        ttlSeconds: 300,
        reason: 'rotate the admin API signing key',
        session: { id: 'sess-console-mfa' },
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;

    const riley = await newPage();
    await oidcLogin(riley, 'riley', `/console/requests/${id}`);
    await riley.waitForURL(`${stack.url}/console/requests/${id}`);
    await expect(riley.getByTestId('mfa-status').textContent()).resolves.toBe('no MFA');
    await expect(riley.getByTestId('approve').isDisabled()).resolves.toBe(true);
    await expect(riley.getByTestId('decision-disabled').textContent()).resolves.toBe(
      'this role requires approvers to sign in with multi-factor authentication',
    );
    // Instead of approving, the page offers to sign in again with MFA.
    await expect(riley.getByTestId('mfa-login').getAttribute('href')).resolves.toContain('mfa=1');
    // Bypassing the disabled button does not help: the server applies the same rule.
    const csrf = await riley.locator('form.approve input[name=_csrf]').inputValue();
    const forced = await riley.request.post(`${stack.url}/console/requests/${id}/approve`, {
      form: { _csrf: csrf },
      maxRedirects: 0,
    });
    expect(forced.status()).toBe(403);
    expect(await forced.text()).toContain('multi-factor authentication');
    const after = await stack.call('GET', `/v1/requests/${id}`, { token: agentToken });
    expect(after.body).toMatchObject({ state: 'pending', approvals: [] });

    // sam (security, signed in with a hardware key) may approve; the sre half of the quorum is still open.
    const sam = await newPage();
    await oidcLogin(sam, 'sam', `/console/requests/${id}`);
    await sam.waitForURL(`${stack.url}/console/requests/${id}`);
    await sam.getByTestId('confirm-environment').fill('production');
    await sam.getByTestId('approve').click();
    await sam.waitForURL(/done=approved/);
    const approved = await stack.call('GET', `/v1/requests/${id}`, { token: agentToken });
    expect(approved.body).toMatchObject({ state: 'pending', approvals: [{ approver: 'sam', channel: 'web' }] });
  });

  it("puts the evidence before the decision: the brief's critical plan, its finding lines, the scope; approval needs the environment typed (server-checked); no overflow at 390 px", async () => {
    const briefPlan = readFileSync(join(__dirname, '../../deploy/examples/brief-plan.tf'), 'utf8');
    const id = await createRequest('grant the deployer editor on acme-prod and roll out api 2.4.1', briefPlan);
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    contexts.push(context);
    const page = await context.newPage();
    await oidcLogin(page, 'carol', `/console/requests/${id}`);
    await page.waitForURL(`${stack.url}/console/requests/${id}`);
    // Order on the page: risk, what is asked, the plan, and only then the decision controls.
    const order = await page.evaluate<number[]>(
      `['#h-risk', '#h-asked', '#h-plan', '#h-decision'].map((s) => { const el = document.querySelector(s); return el ? el.getBoundingClientRect().top + window.scrollY : -1; })`,
    );
    expect(order.every((top) => top >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const riskText = (await page.locator('.risk-card').textContent()) ?? '';
    for (const reason of [
      'Elevated privileges required',
      'Affects production environment',
      'Potential service impact',
      'Potential security risk',
    ]) {
      expect(riskText).toContain(reason);
    }
    expect(riskText).toContain('critical');
    // The lines the findings point at are shown with their numbers, even though the plan is long and folded.
    const roleLine = page.locator('[data-testid="finding-lines"] li[data-line="6"]');
    await expect(roleLine.textContent()).resolves.toContain('role    = "roles/editor"');
    await expect(page.locator('[data-testid="finding-lines"] li[data-line="21"]').textContent()).resolves.toContain(
      'namespace = "production"',
    );
    await expect(page.getByTestId('scope').textContent()).resolves.toBe('["read","write"]');
    // The plan wraps: nothing sits past the right edge of the phone screen.
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(ARTIFACTS, 'request-critical-phone.png'), fullPage: true });

    // Server-checked: a post without the typed name (or with another name) approves nothing.
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    for (const confirmEnvironment of [undefined, 'staging']) {
      const res = await page.request.post(`${stack.url}/console/requests/${id}/approve`, {
        form: { _csrf: csrf, ...(confirmEnvironment ? { confirmEnvironment } : {}) },
        maxRedirects: 0,
      });
      expect(res.status()).toBe(400);
      expect(await res.text()).toContain("type its environment's name (production)");
    }
    expect((await stack.call('GET', `/v1/requests/${id}`, { token: agentToken })).body).toMatchObject({
      state: 'pending',
      approvals: [],
    });
    await page.getByTestId('confirm-environment').fill('production');
    await page.getByTestId('approve').click();
    await page.waitForURL(/done=approved/);
    expect((await stack.call('GET', `/v1/requests/${id}`, { token: agentToken })).body).toMatchObject({
      state: 'approved',
      approvals: [{ approver: 'carol', channel: 'web' }],
    });
  });

  it('sends strict security headers, works on a phone-sized screen, and logout ends the session', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    contexts.push(context);
    const page = await context.newPage();
    await oidcLogin(page, 'carol');
    const res = await page.request.get(`${stack.url}/console`);
    const headers = res.headers();
    expect(headers['content-security-policy']).toContain("script-src 'self'");
    expect(headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['cache-control']).toBe('no-store');
    const cookie = (await context.cookies()).find((c) => c.name === 'leash_console');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    const scrollWidth = Number(await page.evaluate('document.documentElement.scrollWidth'));
    expect(scrollWidth).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(ARTIFACTS, 'pending-phone.png'), fullPage: true });

    await page.getByTestId('logout').click();
    await page.waitForURL(/\/console\/login\?notice=signed-out/);
    await expect(page.getByTestId('notice').textContent()).resolves.toBe('You are signed out.');
    // The old cookie no longer opens anything: the server-side session is gone.
    const replay = await fetch(`${stack.url}/console`, {
      headers: { cookie: `leash_console=${cookie?.value ?? ''}` },
      redirect: 'manual',
    });
    expect(replay.status).toBe(302);
    expect(replay.headers.get('location')).toBe('/console/login?returnTo=%2Fconsole');
  });

  it('admins break glass for an environment after typing its name; others see no such form', async () => {
    const approver = await stack.devToken({ subject: 'alice' });
    const tokens: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const id = await createRequest(`break glass lease ${i}`);
      expect((await stack.call('POST', `/v1/requests/${id}/approve`, { token: approver, body: {} })).status).toBe(200);
      const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agentToken });
      expect(claim.status).toBe(201);
      tokens.push((claim.body.credential as { token: string }).token);
    }
    const pendingId = await createRequest('pending when the glass breaks');
    const active = async (token: string): Promise<boolean> => (await stack.introspect(token)).body.active as boolean;

    // Not an admin: no break-glass form, and a forged post is refused by the server.
    const carol = await newPage();
    await oidcLogin(carol, 'carol', '/console/leases');
    expect(await carol.getByTestId('break-glass').count()).toBe(0);
    const carolCsrf = await carol.locator('form input[name=_csrf]').first().inputValue();
    const forged = await carol.request.post(`${stack.url}/console/admin/revoke`, {
      form: { _csrf: carolCsrf, environment: 'production', confirm: 'production', reason: 'x' },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    expect(await active(tokens[0])).toBe(true);

    const page = await newPage();
    await oidcLogin(page, 'admin', '/console/leases');
    const card = page.getByTestId('break-glass');
    await card.locator('select[name=environment]').selectOption('production');
    await card.locator('input[name=reason]').fill('agent credentials leaked in a CI log');
    // A wrong confirmation revokes nothing and says what to type.
    await page.getByTestId('break-glass-confirm').fill('prod');
    await page.getByTestId('break-glass-submit').click();
    await expect(page.getByTestId('error').textContent()).resolves.toContain(
      "type the environment's name (production) exactly",
    );
    expect(await active(tokens[0])).toBe(true);

    // Without the CSRF token the form is refused too.
    const noCsrf = await page.request.post(`${stack.url}/console/admin/revoke`, {
      form: { environment: 'production', confirm: 'production', reason: 'x' },
      maxRedirects: 0,
    });
    expect(noCsrf.status()).toBe(403);
    expect(await active(tokens[0])).toBe(true);

    await page.goto(`${stack.url}/console/leases`);
    // Malformed forms (no reason, an unknown field, a bad environment name) are a 400 and revoke nothing.
    const adminCsrf = await card.locator('input[name=_csrf]').inputValue();
    const malformed: Record<string, string>[] = [
      { _csrf: adminCsrf, environment: 'production', confirm: 'production' },
      { _csrf: adminCsrf, environment: 'production', confirm: 'production', reason: 'r', all: 'yes' },
      { _csrf: adminCsrf, environment: 'prod<script>', confirm: 'prod<script>', reason: 'r' },
    ];
    for (const form of malformed) {
      const bad = await page.request.post(`${stack.url}/console/admin/revoke`, { form, maxRedirects: 0 });
      expect(bad.status()).toBe(400);
    }
    expect(await active(tokens[0])).toBe(true);
    await card.locator('select[name=environment]').selectOption('production');
    await card.locator('input[name=reason]').fill('agent credentials leaked in a CI log');
    await page.getByTestId('break-glass-confirm').fill('production');
    await page.screenshot({ path: join(ARTIFACTS, 'break-glass.png'), fullPage: true });
    await page.getByTestId('break-glass-submit').click();
    await page.waitForURL(/done=break-glass/);
    await expect(page.getByTestId('flash').textContent()).resolves.toMatch(
      /^Break glass in production: \d+ leases revoked, 0 still being revoked by the worker, \d+ open requests cancelled\.$/,
    );
    for (const token of tokens) {
      expect(await active(token)).toBe(false);
    }
    expect((await stack.call('GET', `/v1/requests/${pendingId}`, { token: agentToken })).body.state).toBe('cancelled');
    await page.goto(`${stack.url}/console/leases?environment=production`);
    await expect(page.getByTestId('lease-count').textContent()).resolves.toBe('0');
  });

  it('refuses a replayed or unknown OIDC callback', async () => {
    const res = await fetch(`${stack.url}/console/callback?code=abc&state=forged-state`, { redirect: 'manual' });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('unknown, expired or was already used');
  });
  it('leaks no issued secret into logs or Redis', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});

describe('approver console without the development issuer', () => {
  let stack: LeashStack;

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'console-nodev', devIssuer: false, worker: false });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('offers no development sign-in and its route does not exist', async () => {
    const page = await fetch(`${stack.url}/console/login`);
    expect(page.status).toBe(200);
    expect(await page.text()).not.toContain('dev-login');
    const post = await fetch(`${stack.url}/console/login/dev`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'subject=alice&mfa=yes',
    });
    expect(post.status).toBe(404);
  });
});
