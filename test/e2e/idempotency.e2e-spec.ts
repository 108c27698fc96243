import { LeashStack } from '../support/leash-stack';

const STAGING = { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 600, reason: 'idempotency' };
const PROD = { role: 'demo-prod-write', environment: 'production', ttlSeconds: 600, reason: 'idempotency' };

/**
 * `Idempotency-Key` on the mutating routes, handled by the route itself (IdempotentCalls.run; it was a Nest
 * interceptor, whose observable chain every call paid for: bench/RESULTS.md, r2-issuance). What a client retrying
 * with the same key sees: the first answer again, never a second secret, and a key freed when its call failed.
 */
describe('Idempotency-Key on the request routes', () => {
  let stack: LeashStack;
  let agent: string;
  let approver: string;
  let outsider: string;
  let n = 0;
  const key = () => ({ 'idempotency-key': `idem-${Date.now()}-${(n += 1)}` });

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'idempotency' });
    agent = await stack.devToken({ subject: 'agent-idem', groups: [] });
    approver = await stack.devToken({ subject: 'alice', groups: ['prod-approvers'] });
    outsider = await stack.devToken({ subject: 'bob', groups: [] });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('never replays a credential: a repeated claim key is refused (409) and carries no secret', async () => {
    const created = await stack.call('POST', '/v1/requests', { token: agent, body: STAGING });
    const headers = key();
    const claim = () =>
      stack.call('POST', `/v1/requests/${created.body.id as string}/credentials`, { token: agent, headers });

    const first = await claim();
    const again = await claim();

    expect(first.status).toBe(201);
    expect(typeof first.body.credential).toBe('object');
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(again.body).toMatchObject({ state: 'issued', type: 'https://leash.dev/problems/already-claimed' });
    expect(again.body.detail).toMatch(/Idempotency-Key/);
    expect(again.body).not.toHaveProperty('credential');
  });

  it('frees the key of a call that failed: the same key and body are decided again, not stuck in progress', async () => {
    const headers = key();
    const call = () => stack.call('POST', '/v1/requests', { token: outsider, body: STAGING, headers });

    const first = await call();
    const again = await call();

    expect(first.status).toBe(403);
    expect(again.status).toBe(403);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
  });

  it('lets a client retry its claim with the same key once the request is approved', async () => {
    const created = await stack.call('POST', '/v1/requests', { token: agent, body: PROD });
    expect(created.body.state).toBe('pending');
    const headers = key();
    const claim = () =>
      stack.call('POST', `/v1/requests/${created.body.id as string}/credentials`, { token: agent, headers });

    const early = await claim();
    expect(early.status).toBe(409);
    const approved = await stack.call('POST', `/v1/requests/${created.body.id as string}/approve`, {
      token: approver,
      body: {},
    });
    expect(approved.status).toBe(200);
    const retried = await claim();

    expect(retried.status).toBe(201);
    expect(retried.body.lease).toMatchObject({ requestId: created.body.id });
  });

  it('replays the first answer of a create for the same key and body, and only for its own caller', async () => {
    const headers = key();
    const first = await stack.call('POST', '/v1/requests', { token: agent, body: STAGING, headers });
    const replay = await stack.call('POST', '/v1/requests', { token: agent, body: STAGING, headers });
    const other = await stack.call('POST', '/v1/requests', {
      token: await stack.devToken({ subject: 'agent-other', groups: [] }),
      body: STAGING,
      headers,
    });

    expect(replay.status).toBe(201);
    expect(replay.body.id).toBe(first.body.id);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.body.id);
    expect(other.headers.get('idempotent-replayed')).toBeNull();
  });

  it('creates one request per call without a key, and refuses a malformed key with 400 problem+json', async () => {
    const a = await stack.call('POST', '/v1/requests', { token: agent, body: STAGING });
    const b = await stack.call('POST', '/v1/requests', { token: agent, body: STAGING });
    expect(a.body.id).not.toBe(b.body.id);

    const bad = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: STAGING,
      headers: { 'idempotency-key': 'has space' },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(JSON.stringify(bad.body)).toContain('Idempotency-Key');
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
