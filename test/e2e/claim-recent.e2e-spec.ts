import { LeashStack } from '../support/leash-stack';

const STAGING = { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 600, reason: 'recent claim' };

/**
 * Issue 19 target 1: the claim of an auto-approved request that this API process has just created does not read
 * the request back from Redis (RecentAutoApproved). What the claim is allowed to do must not change with it: the
 * store's atomic begin-claim step still decides whether the request can be claimed, and only its requester may
 * claim it. Each case below claims a request straight after creating it, in the same process, so the claim takes
 * the short way; the answers are what the store would have given.
 */
describe('claim of a request this process just created (no read back)', () => {
  let stack: LeashStack;
  let agentToken: string;
  let strangerToken: string;

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'claim-recent' });
    agentToken = await stack.devToken({ subject: 'agent-recent', groups: [] });
    strangerToken = await stack.devToken({ subject: 'mallory', groups: ['developers'] });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const create = async (): Promise<string> => {
    const created = await stack.call('POST', '/v1/requests', { token: agentToken, body: STAGING });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: 'approved', decision: 'auto_approved' });
    return created.body.id as string;
  };
  const claim = (id: string, token = agentToken) => stack.call('POST', `/v1/requests/${id}/credentials`, { token });

  it('issues once: the second claim of the same request is refused as already claimed', async () => {
    const id = await create();
    const first = await claim(id);
    expect(first.status).toBe(201);
    expect(first.body.lease).toMatchObject({ requestId: id, principal: 'agent-recent', state: 'active' });
    const second = await claim(id);
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ state: 'issued' });
  });

  it('refuses anyone but the requester, and the requester can still claim afterwards', async () => {
    const id = await create();
    const stranger = await claim(id, strangerToken);
    expect(stranger.status).toBe(403);
    expect(stranger.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect((await claim(id)).status).toBe(201);
  });

  it('refuses a request cancelled after it was created: the store decides, not the copy', async () => {
    const id = await create();
    const cancelled = await stack.call('DELETE', `/v1/requests/${id}`, { token: agentToken });
    expect(cancelled.body.state).toBe('cancelled');
    const refused = await claim(id);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ state: 'cancelled' });
    expect(refused.body).not.toHaveProperty('credential');
  });

  it('refuses a request whose claim window closed in the store meanwhile', async () => {
    const id = await create();
    const redis = stack.redis.client();
    try {
      // The claim window as the store sees it (what the reconciler's deadline sweep also goes by).
      await redis.hset(`{leash}:req:${id}`, 'expiresAt', String(Date.now() - 1000));
    } finally {
      redis.disconnect();
    }
    const refused = await claim(id);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ state: 'expired' });
    expect(refused.body).not.toHaveProperty('credential');
  });

  it('answers 404 for a request that is gone from the store, and issues nothing', async () => {
    const id = await create();
    const redis = stack.redis.client();
    try {
      await redis.del(`{leash}:req:${id}`);
    } finally {
      redis.disconnect();
    }
    const refused = await claim(id);
    expect(refused.status).toBe(404);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const leases = await stack.call('GET', '/v1/leases?limit=100', { token: agentToken });
    expect((leases.body.leases as { requestId: string }[]).filter((l) => l.requestId === id)).toEqual([]);
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
