import { Queue, Worker } from 'bullmq';
import { eventually } from '../support/eventually';
import { LeashStack } from '../support/leash-stack';

describe('revocation survives a stopped worker, deleted jobs and a Redis outage', () => {
  let stack: LeashStack;
  let agent: string;

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'faults' });
    agent = await stack.devToken({ subject: 'agent-faults' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function issue(ttlSeconds: number): Promise<{ leaseId: string; token: string }> {
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds, reason: 'fault test' },
    });
    expect(created.status).toBe(201);
    const claim = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
    expect(claim.status).toBe(201);
    return { leaseId: claim.body.lease.id, token: claim.body.credential.token };
  }

  const leaseState = async (id: string): Promise<string> =>
    (await stack.call('GET', `/v1/leases/${id}`, { token: agent })).body.state;

  const revocationJob = async (leaseId: string) => {
    const queue = new Queue('leash-revocations', { connection: { url: stack.redis.url }, prefix: '{leash}:bull' });
    try {
      return await queue.getJob(leaseId);
    } finally {
      await queue.close();
    }
  };

  it('revokes every lease that expired while the worker was down', async () => {
    await stack.worker.stop();
    const leases = await Promise.all([issue(5), issue(5), issue(6)]);
    await new Promise((r) => setTimeout(r, 7000));
    // Nothing revoked while no worker runs: the leases are overdue but still active.
    for (const lease of leases) {
      expect(await leaseState(lease.leaseId)).toBe('active');
    }

    await stack.worker.start();
    for (const lease of leases) {
      await eventually(async () => ((await leaseState(lease.leaseId)) === 'revoked' ? true : undefined), 15_000, 150);
      const introspection = await stack.introspect(lease.token);
      expect(introspection.body.active).toBe(false);
    }
  });

  it('a lease handed over to a revocation job that is then lost (deleted by hand, a failover) is revoked all the same', async () => {
    // A lease far from its expiry has no job: it waits in the expiry index (1 KiB per lease, SPEC §8).
    const far = await issue(600);
    expect(await revocationJob(far.leaseId)).toBeUndefined();

    const lease = await issue(8);
    // The worker's hand-over moves it into a delayed job a few seconds before it is due…
    await eventually(async () => ((await revocationJob(lease.leaseId)) ? true : undefined), 15_000, 100);
    // …and the job is lost: the hand-over has already passed it, the reconciler re-creates it at expiry.
    const queue = new Queue('leash-revocations', { connection: { url: stack.redis.url }, prefix: '{leash}:bull' });
    try {
      expect(await queue.remove(lease.leaseId)).toBe(1);
    } finally {
      await queue.close();
    }
    await eventually(async () => ((await leaseState(lease.leaseId)) === 'revoked' ? true : undefined), 30_000, 150);
    expect((await stack.introspect(lease.token)).body.active).toBe(false);
    expect(await leaseState(far.leaseId)).toBe('active');
  });

  it('a revocation job held by a worker that died is taken over within seconds after the restart', async () => {
    const lease = await issue(8);
    // Stopped once the hand-over created the lease's job.
    await eventually(async () => ((await revocationJob(lease.leaseId)) ? true : undefined), 15_000, 100);
    await stack.worker.stop();
    await new Promise((r) => setTimeout(r, 8500));
    // A worker takes the due job and dies before finishing: its connection drops with the job active and locked.
    const dying = new Worker('leash-revocations', null, {
      connection: { url: stack.redis.url },
      prefix: '{leash}:bull',
      autorun: false,
      lockDuration: 5000,
    });
    // It may take the hand-over's own periodic jobs first (due while no worker ran); it holds those too.
    let job = await dying.getNextJob('dying-worker-token');
    for (let i = 0; i < 50 && job?.id !== lease.leaseId; i += 1) {
      job = await dying.getNextJob('dying-worker-token');
    }
    expect(job?.id).toBe(lease.leaseId);
    await dying.close(true);
    expect(await leaseState(lease.leaseId)).toBe('active');

    const restarted = Date.now();
    await stack.worker.start();
    // BullMQ's default lock (30 s) would leave this lease usable for half a minute more; well within 15 s now.
    await eventually(async () => ((await leaseState(lease.leaseId)) === 'revoked' ? true : undefined), 15_000, 150);
    expect(Date.now() - restarted).toBeLessThan(15_000);
    const introspection = await stack.introspect(lease.token);
    expect(introspection.body.active).toBe(false);
  });

  it('fails closed with 503 while Redis is down and loses nothing when it returns', async () => {
    const before = await issue(600);
    const pending = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-prod-write', environment: 'production', reason: 'across the outage' },
    });
    expect(pending.status).toBe(201);

    await stack.redis.stop();
    try {
      const create = await stack.call('POST', '/v1/requests', {
        token: agent,
        body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 60, reason: 'during outage' },
      });
      expect(create.status).toBe(503);
      expect(create.headers.get('content-type')).toContain('application/problem+json');
      expect(create.body.type).toMatch(/unavailable$/);

      const claim = await stack.call('POST', `/v1/requests/${pending.body.id}/credentials`, { token: agent });
      expect(claim.status).toBe(503);

      const ready = await stack.call('GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.redis.status).toBe('down');

      // Introspection cannot confirm a token without the denylist: it must not say active.
      const introspection = await stack.introspect(before.token);
      expect(introspection.status).toBe(503);
      expect((await stack.call('GET', '/healthz')).status).toBe(200);
    } finally {
      await stack.redis.restart();
    }

    await eventually(async () => ((await stack.call('GET', '/readyz')).status === 200 ? true : undefined), 15_000, 150);
    expect(await leaseState(before.leaseId)).toBe('active');
    const stillPending = await stack.call('GET', `/v1/requests/${pending.body.id}`, { token: agent });
    expect(stillPending.body.state).toBe('pending');
    const after = await issue(60);
    expect(await leaseState(after.leaseId)).toBe('active');
    const revoke = await stack.call('DELETE', `/v1/leases/${before.leaseId}`, { token: agent });
    expect(revoke.status).toBe(200);
    expect(revoke.body.state).toBe('revoked');
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
