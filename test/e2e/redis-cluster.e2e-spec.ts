import { eventually } from '../support/eventually';
import { LeashStack } from '../support/leash-stack';
import { RedisClusterSet } from '../support/redis-topology';

interface Call {
  start: number;
  end: number;
  status: number;
}

describe('Redis Cluster: three masters, Leash in one hash-tagged slot', () => {
  let set: RedisClusterSet;
  let stack: LeashStack<RedisClusterSet>;
  let agentToken: string;

  beforeAll(async () => {
    set = await RedisClusterSet.start('cluster');
    stack = await LeashStack.start({
      name: 'cluster',
      redis: set,
      env: { LEASH_REDIS_MODE: 'cluster', LEASH_REDIS_CLUSTER_NODES: set.nodes },
    });
    agentToken = await stack.devToken({ subject: 'agent-cluster', owner: 'bob' });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await set?.stop();
  });

  const introspect = async (token: string): Promise<boolean> => (await stack.introspect(token)).body?.active as boolean;

  const revokedAtExpiry = async (leaseId: string): Promise<void> => {
    const lease = await eventually(async () => {
      const l = await stack.call('GET', `/v1/leases/${leaseId}`, { token: agentToken });
      return l.body?.state === 'revoked' ? l.body : undefined;
    }, 90_000);
    expect(lease.revokeReason).toBe('expired');
    expect(Date.parse(lease.revokedAt)).toBeGreaterThanOrEqual(Date.parse(lease.expiresAt));
  };

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
    await revokedAtExpiry(claim.body.lease.id);
    expect(await introspect(claim.body.credential.token)).toBe(false);
  }, 120_000);

  it('keeps every key of Leash and BullMQ in the one slot of its hash tag', async () => {
    const c = set.client(set.ports[0]);
    let slot: number;
    try {
      slot = Number(await c.call('CLUSTER', 'KEYSLOT', '{leash}'));
    } finally {
      c.disconnect();
    }
    const owner = await set.ownerOf(slot);
    for (const port of set.ports) {
      const node = set.client(port);
      try {
        const keys = await node.keys('*');
        if (port === owner.port) {
          expect(keys.some((k) => k.startsWith('{leash}:bull:'))).toBe(true);
          expect(keys.some((k) => k.startsWith('{leash}:lease:'))).toBe(true);
        } else {
          expect(keys).toEqual([]);
        }
        expect(keys.filter((k) => !k.startsWith('{leash}:'))).toEqual([]);
      } finally {
        node.disconnect();
      }
    }
  });

  it('keeps issuing and revoking through a live reshard of its slot: no 5xx outside the move', async () => {
    const c = set.client(set.ports[0]);
    const slot = Number(await c.call('CLUSTER', 'KEYSLOT', '{leash}'));
    c.disconnect();
    const calls: Call[] = [];
    const leases: string[] = [];
    let stop = false;
    const timed = async (fn: () => Promise<{ status: number; body: any }>): Promise<{ status: number; body: any }> => {
      const start = Date.now();
      const res = await fn().catch(() => ({ status: 0, body: undefined }));
      calls.push({ start, end: Date.now(), status: res.status });
      return res;
    };
    const clients = Array.from({ length: 3 }, async () => {
      while (!stop) {
        const created = await timed(() =>
          stack.call('POST', '/v1/requests', {
            token: agentToken,
            body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 6, reason: 'reshard load' },
          }),
        );
        if (created.status === 201) {
          const claim = await timed(() =>
            stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agentToken }),
          );
          if (claim.status === 201) {
            leases.push(claim.body.lease.id as string);
          }
        }
      }
    });
    let moveStart = 0;
    let moveEnd = 0;
    try {
      await eventually(() => (leases.length >= 15 ? true : undefined), 60_000);
      moveStart = Date.now();
      const newOwner = await set.moveSlot(slot, { batch: 5, pauseMs: 20 });
      moveEnd = Date.now();
      expect((await set.ownerOf(slot)).port).toBe(newOwner);
      const issuedBefore = leases.length;
      await eventually(() => (leases.length >= issuedBefore + 15 ? true : undefined), 60_000);
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    const outside = calls.filter((call) => call.end < moveStart || call.start > moveEnd);
    expect(outside.length).toBeGreaterThan(30);
    expect(outside.filter((call) => call.status >= 500 || call.status === 0)).toEqual([]);
    expect(calls.filter((call) => call.status !== 0 && call.status < 500 && call.status !== 201)).toEqual([]);
    // Revocations continue: every lease, issued before, during and after the move, is revoked at expiry.
    for (const id of leases) {
      await revokedAtExpiry(id);
    }
  }, 300_000);

  it('leaks no issued secret into logs, Redis or its files', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
