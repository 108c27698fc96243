import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { HandOverDueRevocations, type RevocationScheduler } from '@leash/broker';
import { fingerprintSecret, RandomIdGenerator, type Clock } from '@leash/core';
import { RedisLeaseStore, type ClaimIntent } from '@leash/leases';
import { BullmqRevocationScheduler } from '../../libs/broker/src/revocation/bullmq-revocation-scheduler.adapter';
import { RedisServer } from '../support/redis-server';
import { approvedRequest } from '../support/store-leases';

/** The claim's intent, recorded before the provider is called (the lease then replaces it). */
function intentOf(leaseId: string, requestId: string, principal: string): ClaimIntent {
  const now = Date.now();
  return {
    leaseId,
    requestId,
    provider: 'jwt',
    role: 'demo-staging-read',
    environment: 'staging',
    principal,
    identity: {},
    handle: { jti: leaseId },
    ttlSeconds: 600,
    owner: 'test',
    startedAt: now,
    deadline: now + 600_000,
  };
}

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
    await store.createRequest(
      approvedRequest(requestId, { environment: 'staging', principal: 'agent-handover', reason: 'hand-over', now }),
    );
    expect((await store.beginClaim(intentOf(id, requestId, 'agent-handover'), now)).ok).toBe(true);
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

  it('catch-up (every reconciler pass): nothing while the hand-over keeps up, a run once it fell behind (its worker died)', async () => {
    const catchUp = () => new HandOverDueRevocations(store, clock, scheduler).catchUp();
    await handOver();
    const lease = await record(now + 8000);
    // The hand-over's job ran a moment ago: the reconciler leaves it alone.
    now += 1000;
    expect(await catchUp()).toBeUndefined();
    expect(await jobOf(lease.id)).toBeUndefined();
    // Its job stopped (held by a killed worker until BullMQ's stalled check): the next pass runs it, and the
    // lease gets its job before it is due.
    now += 2000;
    expect(await catchUp()).toMatchObject({ handedOver: 1 });
    expect((await jobOf(lease.id))?.data.leaseId).toBe(lease.id);
    expect(await (await jobOf(lease.id))?.isDelayed()).toBe(true);
    expect(await catchUp()).toBeUndefined();
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

// Records written by the previous format (one `data` JSON field per hash) stay readable and revocable after
// the upgrade to the compact encoding, and the compact one takes less memory on Redis's default limits.
describe('lease and request records across the encoding change', () => {
  const PREFIX = '{leash}';
  let redis: RedisServer;
  let client: Redis;
  let store: RedisLeaseStore;

  beforeAll(async () => {
    redis = await RedisServer.start('codec');
    client = redis.client();
    store = new RedisLeaseStore(client, PREFIX, 3600);
  });

  afterAll(async () => {
    await store?.close();
    client?.disconnect();
    await redis?.stop();
  });

  it('reads, lists and revokes a lease and its request written in the previous format', async () => {
    const now = Date.now();
    const lease = {
      id: 'lease-oldformat0000000001',
      requestId: 'req-oldformat00000000001',
      role: 'demo-staging-read',
      environment: 'staging',
      provider: 'jwt',
      principal: 'agent-old',
      issuer: 'test',
      sessionId: 'sess-old',
      issuedAt: now,
      expiresAt: now + 60_000,
      fingerprint: { last4: 'abcd', sha256: '0123456789abcdef' },
      providerRef: { jti: 'lease-oldformat0000000001' },
    };
    const request = {
      id: lease.requestId,
      role: lease.role,
      environment: lease.environment,
      ttlSeconds: 60,
      reason: 'written before the upgrade',
      principal: lease.principal,
      issuer: 'test',
      session: { id: 'sess-old' },
      context: { ticket: 'OPS-1' },
      decision: 'auto_approved',
      approval: { kind: 'auto', claimWindowSeconds: 600 },
      provider: 'jwt',
      risk: { level: 'low', reasons: [] },
      policyVersion: 'v1',
      createdAt: now - 1000,
    };
    await client.hset(`${PREFIX}:req:${request.id}`, {
      data: JSON.stringify(request),
      state: 'issued',
      expiresAt: String(now + 600_000),
      digest: 'd'.repeat(64),
      leaseId: lease.id,
    });
    await client.hset(`${PREFIX}:lease:${lease.id}`, {
      data: JSON.stringify(lease),
      state: 'active',
      handle: JSON.stringify({ jti: lease.id }),
      attempts: '0',
    });
    await client.zadd(`${PREFIX}:leases:expiry`, lease.expiresAt, lease.id);
    await client.zadd(`${PREFIX}:leases:all`, lease.issuedAt, lease.id);

    expect((await store.getRequest(request.id))?.request).toMatchObject({
      ...request,
      state: 'issued',
      leaseId: lease.id,
      digest: 'd'.repeat(64),
    });
    expect(await store.getLease(lease.id)).toEqual({ ...lease, state: 'active', attempts: 0 });
    expect((await store.listLeases({ state: 'active', limit: 10 })).map((l) => l.id)).toEqual([lease.id]);
    const begun = await store.beginRevoke(lease.id, 'expired', now);
    expect(begun).toMatchObject({ ok: true, lease: { id: lease.id, state: 'revoking' }, handle: { jti: lease.id } });
    expect(await store.completeRevoke(lease.id, now + 60_000)).toEqual({ ok: true });
    expect(await store.getLease(lease.id)).toMatchObject({ id: lease.id, state: 'revoked', revokedAt: now + 60_000 });
  });

  it('reads and revokes compact records of the previous version: handle, reference and digest stored in full', async () => {
    const now = Date.now();
    const id = 'lease-compactv10000000001';
    const requestId = 'req-compactv100000000001';
    // As the previous version's claim script wrote them (its handle not the one this version derives).
    await client.set(
      `${PREFIX}:req-shared:shared-v1`,
      JSON.stringify(['dc', 'a', 'rl', 'low', 'cx', '{}', 'ro', 'demo-staging-read', 'e', 'staging', 'p', 'jwt', 'i', 'test']),
    );
    await client.hset(`${PREFIX}:req:${requestId}`, {
      state: 'issued',
      expiresAt: String(now + 600_000),
      digest: 'c'.repeat(64),
      rs: 'written by the previous version',
      pr: 'agent-v1',
      ca: String(now - 1000),
      sh: 'shared-v1',
      ttlSeconds: '60',
      leaseId: id,
    });
    await client.hset(`${PREFIX}:lease:${id}`, {
      r: requestId,
      ro: 'demo-staging-read',
      e: 'staging',
      p: 'jwt',
      pr: 'agent-v1',
      i: 'test',
      ia: String(now),
      ea: String(now + 60_000),
      ref: JSON.stringify({ jti: null, kid: 'k-v1' }),
      fl: 'abcd',
      fs: '0123456789abcdef',
      state: 'active',
      handle: JSON.stringify({ jti: 'jti-minted-by-v1', exp: Math.floor((now + 60_000) / 1000) }),
    });
    await client.zadd(`${PREFIX}:leases:expiry`, now + 60_000, id);
    await client.rpush(`${PREFIX}:leases:recorded`, id);

    expect((await store.getRequest(requestId))?.request).toMatchObject({
      state: 'issued',
      digest: 'c'.repeat(64),
      leaseId: id,
      issuer: 'test',
    });
    expect(await store.getLease(id)).toMatchObject({ id, issuer: 'test', providerRef: { jti: id, kid: 'k-v1' } });
    expect((await store.listLeases({ state: 'active', limit: 10 })).map((l) => l.id)).toEqual([id]);
    const begun = await store.beginRevoke(id, 'expired', now);
    expect(begun).toMatchObject({
      ok: true,
      lease: { id, state: 'revoking' },
      handle: { jti: 'jti-minted-by-v1', exp: Math.floor((now + 60_000) / 1000) },
    });
    expect(await store.completeRevoke(id, now + 60_000)).toEqual({ ok: true });
    expect(await store.getLease(id)).toMatchObject({ id, state: 'revoked' });
  });

  it('writes compact records that read back the same and stay in the listpack encoding', async () => {
    await client.config('SET', 'hash-max-listpack-value', '64');
    const ids = new RandomIdGenerator();
    const now = Date.now();
    const requestId = ids.requestId();
    const leaseId = ids.leaseId();
    const request = {
      id: requestId,
      state: 'approved' as const,
      role: 'demo-staging-read',
      environment: 'staging',
      ttlSeconds: 600,
      reason: 'compact',
      principal: 'agent-compact',
      issuer: 'test',
      session: { id: 'sess-compact', agent: 'claude-code' },
      context: {},
      decision: 'auto_approved' as const,
      approval: { kind: 'auto' as const, claimWindowSeconds: 600 },
      provider: 'jwt' as const,
      risk: { level: 'low' as const, reasons: [] },
      digest: 'e'.repeat(64),
      policyVersion: 'v2',
      scope: { audience: 'demo-api', scope: ['read'] },
      roleFingerprint: 'f'.repeat(64),
      decidedAt: now,
      createdAt: now,
      expiresAt: now + 600_000,
    };
    await store.createRequest(request);
    expect((await store.getRequest(requestId))?.request).toEqual(request);
    expect((await store.beginClaim(intentOf(leaseId, requestId, 'agent-compact'), now)).ok).toBe(true);
    const lease = {
      id: leaseId,
      requestId,
      state: 'active' as const,
      role: 'demo-staging-read',
      environment: 'staging',
      provider: 'jwt' as const,
      principal: 'agent-compact',
      issuer: 'test',
      sessionId: 'sess-compact',
      issuedAt: now,
      expiresAt: now + 600_000,
      fingerprint: fingerprintSecret('compact-secret'),
      providerRef: { jti: leaseId, kid: 'k1' },
      attempts: 0,
    };
    expect((await store.recordLease(lease, { jti: leaseId }, now)).ok).toBe(true);
    expect(await store.getLease(leaseId)).toEqual(lease);
    expect((await store.getRequest(requestId))?.request).toMatchObject({ state: 'issued', leaseId });
    expect(await client.object('ENCODING', `${PREFIX}:lease:${leaseId}`)).toBe('listpack');
    expect(await client.object('ENCODING', `${PREFIX}:req:${requestId}`)).toBe('listpack');
  });
});
