import { LeashStack } from '../support/leash-stack';

const STAGING = { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 600, reason: 'script cache' };

/**
 * Leash's Lua scripts run as EVALSHA (libs/core defineScript/scriptCommand: none is defined on the shared ioredis
 * connection, which made every auto-pipelined batch copy ~40 of them). Redis forgets its script cache when it
 * restarts from its AOF, when a replica is promoted, or on SCRIPT FLUSH: the data is there, the scripts are not.
 * Every transition must then still work: the first EVALSHA of each script is answered NOSCRIPT (nothing ran) and
 * the script is sent again as EVAL. Each case below empties the cache of the real redis-server first.
 */
describe('Lua scripts after Redis forgot its script cache', () => {
  let stack: LeashStack;
  let agent: string;
  let admin: string;

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'redis-scripts' });
    agent = await stack.devToken({ subject: 'agent-scripts', groups: [] });
    admin = await stack.devToken({ subject: 'admin' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const flushScripts = async (): Promise<void> => {
    const redis = stack.redis.client();
    try {
      expect(await redis.script('FLUSH')).toBe('OK');
    } finally {
      redis.disconnect();
    }
  };
  const issue = async (): Promise<{ requestId: string; leaseId: string }> => {
    const created = await stack.call('POST', '/v1/requests', { token: agent, body: STAGING });
    expect(created.status).toBe(201);
    const claimed = await stack.call('POST', `/v1/requests/${created.body.id as string}/credentials`, {
      token: agent,
    });
    expect(claimed.status).toBe(201);
    expect(typeof claimed.body.credential).toBe('object');
    return { requestId: created.body.id as string, leaseId: claimed.body.lease.id as string };
  };

  it('issues, records and audits a credential after the cache was emptied (request, claim, lease, audit)', async () => {
    await issue(); // every script of the issuance path has run once: Redis has them cached
    await flushScripts();

    const { requestId, leaseId } = await issue();

    const lease = await stack.call('GET', `/v1/leases/${leaseId}`, { token: agent });
    expect(lease.status).toBe(200);
    expect(lease.body).toMatchObject({ id: leaseId, requestId, state: 'active' });
    const audit = await stack.call('GET', `/v1/audit?request=${requestId}`, { token: admin });
    expect((audit.body.events as { action: string }[]).map((e) => e.action)).toEqual([
      'request.created',
      'credential.issued',
    ]);
    expect((await stack.call('GET', '/v1/audit/verify', { token: admin })).body.ok).toBe(true);
  });

  it('answers every one of 24 concurrent issuances started right after the cache was emptied', async () => {
    await flushScripts();

    const issued = await Promise.all(Array.from({ length: 24 }, () => issue()));

    expect(new Set(issued.map((i) => i.leaseId)).size).toBe(24);
    const verified = (await stack.call('GET', '/v1/audit/verify', { token: admin })).body;
    expect(verified.ok).toBe(true);
  });

  it('revokes a lease after the cache was emptied, and the revoked lease is no longer active', async () => {
    const { leaseId } = await issue();
    await flushScripts();

    const revoked = await stack.call('DELETE', `/v1/leases/${leaseId}`, { token: agent });

    expect(revoked.status).toBe(200);
    const lease = await stack.call('GET', `/v1/leases/${leaseId}`, { token: agent });
    expect(lease.body.state).toBe('revoked');
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
