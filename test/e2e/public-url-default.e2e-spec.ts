import { eventually } from '../support/eventually';
import { LeashStack } from '../support/leash-stack';

/**
 * `LEASH_PORT=8097 npm run demo`: API and worker get LEASH_HOST and LEASH_PORT but no LEASH_PUBLIC_URL, whose
 * documented default is `http://LEASH_HOST:LEASH_PORT` for both. The worker signs audit checkpoints with that URL as
 * `iss` and renders approval links with it: on another default (:8080) the API refused every checkpoint the worker
 * made (`GET /v1/audit/verify` → `checkpoint_invalid`) and the links pointed where no broker listens.
 */
describe('without LEASH_PUBLIC_URL, the worker uses the same default URL as the API (LEASH_HOST:LEASH_PORT)', () => {
  let stack: LeashStack;
  let admin: string;

  beforeAll(async () => {
    stack = await LeashStack.start({
      name: 'public-url-default',
      // As the demo runs them: no LEASH_PUBLIC_URL (undefined leaves it out of the child's environment).
      env: { LEASH_PUBLIC_URL: undefined as unknown as string, LEASH_AUDIT_CHECKPOINT_INTERVAL_MS: '1000' },
    });
    admin = await stack.devToken({ subject: 'admin' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("links the approval notification to this API's console", async () => {
    const agent = await stack.devToken({ subject: 'agent-url', owner: 'bob' });
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-prod-write', environment: 'production', reason: 'roll out api 2.4.1', ttlSeconds: 60 },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.body.approvalUrl).toBe(`${stack.url}/console/requests/${id}`);
    // The worker delivers the notification (web console adapter: a log line; Slack: the message's link).
    const line = await eventually(
      () => stack.worker.log.split('\n').find((l) => l.includes('approval needed') && l.includes(id)),
      30_000,
    );
    expect(line).toContain(`${stack.url}/console/requests/${id}`);
  });

  it('accepts the checkpoints the worker signs: the audit chain verifies at the API', async () => {
    const claim = await stack.call('POST', '/v1/requests', {
      token: await stack.devToken({ subject: 'agent-url' }),
      body: { role: 'demo-staging-read', environment: 'staging', reason: 'read logs', ttlSeconds: 60 },
    });
    expect(claim.status).toBe(201);
    const checkpoints = await eventually(async () => {
      const res = await stack.call('GET', '/v1/audit/checkpoints', { token: admin });
      return (res.body.checkpoints as unknown[]).length > 0 ? res.body.checkpoints : undefined;
    }, 30_000);
    expect(checkpoints.length).toBeGreaterThan(0);
    const verified = await stack.call('GET', '/v1/audit/verify', { token: admin });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ ok: true });
    expect(verified.body.broken).toBeUndefined();
  });

  it('starts on an empty Redis, as a first demo does, without a warning or a non-JSON line', async () => {
    // Readiness asks every provider, the cloud ones without their configuration (Google's metadata server lookup).
    expect((await stack.call('GET', '/readyz')).status).toBe(200);
    // Node writes a process warning on a later tick: let the pipes deliver it before reading the logs.
    await new Promise((r) => setTimeout(r, 1000));
    for (const [name, log] of [
      ['api', stack.api.log],
      ['worker', stack.worker.log],
    ] as const) {
      const lines = log.split('\n').filter((l) => l.trim() !== '');
      const noise = lines.filter((l) => !l.startsWith('{'));
      expect({ name, noise }).toEqual({ name, noise: [] });
      // Expected warnings of the demo: the development issuer is on; no cluster for the kubernetes sweep; no Google
      // metadata server (google-auth-library's process warning, now a JSON line).
      const warnings = lines
        .map((l) => JSON.parse(l) as { level: string | number; msg: string })
        .filter((e) => e.level === 'warn' || e.level === 40)
        .map((e) => e.msg)
        .filter(
          (m) => !/development token issuer is ON|sweep could not list identities|^MetadataLookupWarning: /.test(m),
        );
      expect({ name, warnings }).toEqual({ name, warnings: [] });
    }
  });

  it('leaks no issued credential into logs or Redis', async () => {
    const created = await stack.call('POST', '/v1/requests', {
      token: await stack.devToken({ subject: 'agent-url' }),
      body: { role: 'demo-staging-read', environment: 'staging', reason: 'read logs', ttlSeconds: 60 },
    });
    const claimed = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, {
      token: await stack.devToken({ subject: 'agent-url' }),
    });
    expect(claimed.status).toBe(201);
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
