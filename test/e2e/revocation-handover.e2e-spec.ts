import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { HandOverDueRevocations, type RevocationScheduler } from '@leash/broker';
import { fingerprintSecret, RandomIdGenerator, type Clock } from '@leash/core';
import { RedisLeaseStore } from '@leash/leases';
import { BullmqRevocationScheduler } from '../../libs/broker/src/revocation/bullmq-revocation-scheduler.adapter';
import { RedisServer } from '../support/redis-server';

// The hand-over of due leases from the expiry index into revocation jobs, against a real redis-server
// and the real BullMQ producer: a job exists only for leases about to expire, and no lease falls
// through a crash between the reservation and the jobs, or a claim racing the hand-over.
describe('hand-over of due leases to revocation jobs', () => {
  const PREFIX = '{leash}';
  const ids = new RandomIdGenerator();
  let redis: RedisServer;
  let client: Redis;
  let store: RedisLeaseStore;
  let scheduler: BullmqRevocationScheduler;
  let queue: Queue;
  const connections: Redis[] = [];
  let now = Date.now();
  const clock: Clock = { now: () => now };

  beforeAll(async () => {
    redis = await RedisServer.start('handover');
    client = redis.client();
    store = new RedisLeaseStore(client, PREFIX, 3600);
    const connect = (): Redis => {
      const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
      connections.push(connection);
      return connection;
    };
    scheduler = new BullmqRevocationScheduler(connect, {
      attempts: 5,
      backoffMs: 1000,
      prefix: PREFIX,
    });
    queue = new Queue('leash-revocations', { connection: { url: redis.url }, prefix: `${PREFIX}:bull` });
  });

  afterAll(async () => {
    await queue?.close();
    await scheduler?.close();
    await store?.close();
    client?.disconnect();
    connections.forEach((c) => c.disconnect());
    await redis?.stop();
  });

  beforeEach(async () => {
    await client.flushall();
    now = Date.now();
  });

  async function record(expiresAt: number): Promise<{ id: string; scheduleNow: boolean }> {
    const requestId = ids.requestId();
    const id = ids.leaseId();
    await store.createRequest({
      id: requestId,
      state: 'approved',
      role: 'demo-staging-read',
      environment: 'staging',
      ttlSeconds: 3600,
      reason: 'hand-over',
      principal: 'agent-handover',
      issuer: 'test',
      context: {},
      decision: 'auto_approved',
      approval: { kind: 'auto', claimWindowSeconds: 600 },
      provider: 'jwt',
      risk: { level: 'low', reasons: [] },
      digest: 'd'.repeat(64),
      policyVersion: 'test',
      createdAt: now,
      expiresAt: now + 600_000,
    });
    expect(await store.transitionRequest({ id: requestId, from: ['approved'], to: 'issuing', now })).toEqual({
      ok: true,
    });
    const recorded = await store.recordLease(
      {
        id,
        requestId,
        state: 'active',
        role: 'demo-staging-read',
        environment: 'staging',
        provider: 'jwt',
        principal: 'agent-handover',
        issuedAt: now,
        expiresAt,
        fingerprint: fingerprintSecret(`secret-${id}`),
        providerRef: { jti: id },
        attempts: 0,
      },
      { jti: id },
      now,
    );
    if (!recorded.ok) {
      throw new Error(`not recorded: ${recorded.reason}`);
    }
    return { id, scheduleNow: recorded.scheduleNow };
  }

  const handOver = (s: RevocationScheduler = scheduler) => new HandOverDueRevocations(store, clock, s).execute();
  const jobOf = async (id: string) => queue.getJob(id);

  it('creates a job only for leases due within the lead, and each one exactly once', async () => {
    await handOver(); // the first run marks the hand-over as running: claims leave their leases to it
    const soon = await record(now + 8000);
    const later = await record(now + 60_000);
    expect(soon.scheduleNow).toBe(false);
    expect(later.scheduleNow).toBe(false);

    now += 4000;
    expect((await handOver()).handedOver).toBe(1);
    const job = await jobOf(soon.id);
    expect(job?.data).toMatchObject({ leaseId: soon.id, reason: 'expired' });
    expect(await job?.isDelayed()).toBe(true);
    expect(await jobOf(later.id)).toBeUndefined();
    // The next run does not take it again.
    expect((await handOver()).handedOver).toBe(0);

    now += 53_000;
    expect((await handOver()).handedOver).toBe(1);
    expect((await jobOf(later.id))?.data.leaseId).toBe(later.id);
    expect(await queue.getJobCountByTypes('delayed')).toBe(2);
  });

  it('a run that dies before its jobs exist leaves its leases to the next run', async () => {
    await handOver();
    const lease = await record(now + 8000);
    now += 4000;
    const failing: RevocationScheduler = {
      ...scheduler,
      scheduleDue: () => Promise.reject(new Error('worker killed')),
    } as unknown as RevocationScheduler;
    await expect(handOver(failing)).rejects.toThrow('worker killed');
    expect(await jobOf(lease.id)).toBeUndefined();

    expect((await handOver()).handedOver).toBe(1);
    expect((await jobOf(lease.id))?.data.leaseId).toBe(lease.id);
  });

  it('a claim recording a lease inside a range already reserved schedules its own job', async () => {
    // Before any hand-over ran (a worker of an earlier version), every claim schedules its job itself.
    expect((await record(now + 60_000)).scheduleNow).toBe(true);
    const reserved = await store.reserveDue(now + 5000, 100);
    // Recorded between the reservation and its commit: the hand-over will not see it.
    const racing = await record(now + 4000);
    expect(racing.scheduleNow).toBe(true);
    await store.commitDue(reserved.upto);
    expect((await record(now + 6000)).scheduleNow).toBe(false);
  });

  it('takes a backlog larger than one batch in whole milliseconds, leaving none behind', async () => {
    const leases = [];
    for (let i = 0; i < 30; i += 1) {
      leases.push(await record(now + 1000 + Math.floor(i / 3)));
    }
    const taken = new Set<string>();
    for (;;) {
      const due = await store.reserveDue(now + 5000, 4);
      due.leases.forEach((l) => taken.add(l.id));
      await store.commitDue(due.upto);
      if (due.upto >= now + 5000) {
        break;
      }
    }
    expect([...taken].sort()).toEqual(leases.map((l) => l.id).sort());
  });

  it('a lease that already has a per-lease job (recorded by an earlier version) keeps that one job', async () => {
    const old = await record(now + 3000);
    expect(old.scheduleNow).toBe(true);
    await scheduler.scheduleAtExpiry(old.id, now + 3000, now);
    const before = await jobOf(old.id);
    expect((await handOver()).handedOver).toBe(1);
    const after = await jobOf(old.id);
    expect(after?.timestamp).toBe(before?.timestamp);
    expect(await queue.getJobCountByTypes('delayed', 'waiting')).toBe(1);
  });
});
