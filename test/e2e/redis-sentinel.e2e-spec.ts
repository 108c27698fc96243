import { eventually } from '../support/eventually';
import { LeashStack } from '../support/leash-stack';
import { SentinelSet } from '../support/redis-topology';

// Two replicas: with LEASH_REDIS_MIN_REPLICAS=1 a promoted master still has one to acknowledge leases.
describe('Redis Sentinel: master + two replicas + three sentinels, LEASH_REDIS_MIN_REPLICAS=1', () => {
  let set: SentinelSet;
  let stack: LeashStack<SentinelSet>;
  let agentToken: string;

  beforeAll(async () => {
    set = await SentinelSet.start('sentinel', 2);
    stack = await LeashStack.start({
      name: 'sentinel',
      redis: set,
      env: {
        LEASH_REDIS_MODE: 'sentinel',
        LEASH_REDIS_SENTINELS: set.sentinels,
        LEASH_REDIS_SENTINEL_MASTER: set.masterName,
        LEASH_REDIS_MIN_REPLICAS: '1',
        LEASH_REDIS_REPLICA_TIMEOUT_MS: '500',
      },
    });
    agentToken = await stack.devToken({ subject: 'agent-sentinel', owner: 'bob' });
  });

  afterAll(async () => {
    await stack?.stop();
    await set?.stop();
  });

  const introspect = async (token: string): Promise<boolean> => (await stack.introspect(token)).body?.active as boolean;

  it('runs the core loop: request → approval → claim → revoked at expiry', async () => {
    const approver = await stack.devToken({ subject: 'alice' });
    const created = await stack.call('POST', '/v1/requests', {
      token: agentToken,
      body: { role: 'demo-prod-write', environment: 'production', ttlSeconds: 5, reason: 'migration 42' },
    });
    expect(created.body.state).toBe('pending');
    expect((await stack.call('POST', `/v1/requests/${created.body.id}/approve`, { token: approver })).status).toBe(200);
    const claim = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agentToken });
    expect(claim.status).toBe(201);
    expect(await introspect(claim.body.credential.token)).toBe(true);
    const lease = await eventually(async () => {
      const l = await stack.call('GET', `/v1/leases/${claim.body.lease.id}`, { token: agentToken });
      return l.body.state === 'revoked' ? l.body : undefined;
    }, 30_000);
    expect(lease.revokeReason).toBe('expired');
    expect(await introspect(claim.body.credential.token)).toBe(false);
  }, 60_000);

  it('withholds a credential no replica acknowledged: 503, and its lease is revoked', async () => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agentToken,
      body: {
        role: 'demo-staging-read',
        environment: 'staging',
        ttlSeconds: 60,
        reason: 'unreplicated',
        session: { id: 'sess-unrepl' },
      },
    });
    expect(created.status).toBe(201);
    set.pauseReplica(true);
    let claim: Awaited<ReturnType<LeashStack['call']>>;
    try {
      claim = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agentToken });
    } finally {
      set.pauseReplica(false);
    }
    expect(claim.status).toBe(503);
    expect(claim.headers.get('content-type')).toContain('application/problem+json');
    expect(claim.body.detail).toMatch(/acknowledged by 0 of 1 required replicas/);
    expect(claim.body.credential).toBeUndefined();
    const leases = await stack.call('GET', '/v1/leases?session=sess-unrepl', { token: agentToken });
    expect(leases.body.leases).toEqual([expect.objectContaining({ state: 'revoked', revokeReason: 'not_replicated' })]);
  });

  it('leaks no issued secret into logs, Redis or its files', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
