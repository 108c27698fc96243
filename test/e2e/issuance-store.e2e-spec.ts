import { Redis } from 'ioredis';
import { fingerprintSecret, RandomIdGenerator, type AccessRequest, type Lease } from '@leash/core';
import { RedisLeaseStore, type ClaimIntent } from '@leash/leases';
import { RedisServer } from '../support/redis-server';

const PREFIX = '{leash}';
const ids = new RandomIdGenerator();

/**
 * The store's steps of an issuance on a real redis-server, each one command (issue 19: fewer round trips per
 * issuance): the request is recorded with its indexes by one script, reads go out as single commands on an
 * auto-pipelined connection, and the lease record reads the fences of the ends it may have raced (session end,
 * break glass) in the same atomic step, so the claim needs no extra call to learn about them.
 */
describe('lease store: the steps of an issuance', () => {
  let redis: RedisServer;
  let plain: Redis;
  let piped: Redis;
  let stores: { name: string; store: RedisLeaseStore }[];
  const now = Date.now();

  beforeAll(async () => {
    redis = await RedisServer.start('issuance-store');
    plain = redis.client();
    // The API's main connection auto-pipelines (libs/broker redis.factory): the store's reads take another path there.
    piped = new Redis(redis.url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
    stores = [
      { name: 'plain connection', store: new RedisLeaseStore(plain, PREFIX, 3600) },
      { name: 'auto-pipelined connection', store: new RedisLeaseStore(piped, PREFIX, 3600) },
    ];
  });

  beforeEach(async () => {
    await plain.flushall(); // fences are global scopes: each test starts without any
  });

  afterAll(async () => {
    for (const { store } of stores ?? []) {
      await store.close();
    }
    plain?.disconnect();
    piped?.disconnect();
    await redis?.stop();
  });

  function approved(session?: string): AccessRequest {
    return {
      id: ids.requestId(),
      state: 'approved',
      role: 'demo-staging-read',
      environment: 'staging',
      ttlSeconds: 600,
      reason: 'issuance store',
      principal: 'agent-issuance',
      issuer: 'test',
      ...(session ? { session: { id: session } } : {}),
      context: { ticket: 'OPS-1' },
      decision: 'auto_approved',
      approval: { kind: 'auto', claimWindowSeconds: 300 },
      provider: 'jwt',
      risk: { level: 'low', reasons: ['staging'] },
      digest: 'e'.repeat(64),
      scope: { audience: 'staging-api' },
      principalGroups: ['agents'],
      decisionReasons: ['auto'],
      policyVersion: 'test',
      createdAt: now,
      expiresAt: now + 300_000,
      decidedAt: now,
    };
  }

  function intentOf(leaseId: string, request: AccessRequest): ClaimIntent {
    return {
      leaseId,
      requestId: request.id,
      provider: 'jwt',
      role: request.role,
      environment: request.environment,
      principal: request.principal,
      ...(request.session ? { sessionId: request.session.id } : {}),
      identity: {},
      handle: { jti: leaseId },
      ttlSeconds: request.ttlSeconds,
      owner: 'test',
      startedAt: now,
      deadline: now + 600_000,
    };
  }

  function leaseOf(leaseId: string, request: AccessRequest): Lease {
    return {
      id: leaseId,
      requestId: request.id,
      state: 'active',
      role: request.role,
      environment: request.environment,
      provider: 'jwt',
      principal: request.principal,
      issuer: request.issuer,
      ...(request.session ? { sessionId: request.session.id } : {}),
      issuedAt: now,
      expiresAt: now + 600_000,
      fingerprint: fingerprintSecret(`secret-${leaseId}`),
      providerRef: { jti: leaseId },
      attempts: 0,
    };
  }

  /** A request taken by a claim, ready for its lease to be recorded. */
  async function claimed(store: RedisLeaseStore, session?: string): Promise<{ request: AccessRequest; lease: Lease }> {
    const request = approved(session);
    await store.createRequest(request);
    const leaseId = ids.leaseId();
    expect((await store.beginClaim(intentOf(leaseId, request), now)).ok).toBe(true);
    return { request, lease: leaseOf(leaseId, request) };
  }

  describe.each(['plain connection', 'auto-pipelined connection'])('on a %s', (name) => {
    const sut = () => stores.find((s) => s.name === name)!.store;

    it('createRequest records the request, its claim deadline, its retention and its session index', async () => {
      const request = approved(`sess-${ids.requestId()}`);
      await sut().createRequest(request);

      expect(await sut().getRequest(request.id)).toEqual({ request, approvals: [] });
      expect(Number(await plain.zscore(`${PREFIX}:req:deadlines`, request.id))).toBe(request.expiresAt);
      expect(await plain.ttl(`${PREFIX}:req:${request.id}`)).toBeGreaterThan(3600);
      expect(await sut().listSessionRequests(request.session!.id)).toEqual([request.id]);
      expect(await plain.ttl(`${PREFIX}:session:${request.session!.id}:request-ids`)).toBeGreaterThan(0);
    });

    it('a request without a session touches no session index', async () => {
      const request = approved();
      await sut().createRequest(request);
      expect(await sut().getRequest(request.id)).toEqual({ request, approvals: [] });
      expect(await plain.keys(`${PREFIX}:session:*`)).toEqual([]);
    });

    it('concurrent reads of many requests each get their own request back', async () => {
      const requests = Array.from({ length: 50 }, () => approved());
      await Promise.all(requests.map((r) => sut().createRequest(r)));
      const read = await Promise.all(requests.map((r) => sut().getRequest(r.id)));
      expect(read.map((r) => r?.request)).toEqual(requests);
      expect(await sut().getRequest(ids.requestId())).toBeUndefined();
    });

    it('recordLease reports no fence when none of the lease was raised', async () => {
      const { lease } = await claimed(sut(), `sess-${ids.requestId()}`);
      await sut().raiseFences(['session:someone-else', 'glass:["production",null,null]'], now + 5);

      const recorded = await sut().recordLease(lease, { jti: lease.id }, now, undefined, [
        `session:${lease.sessionId}`,
        'glass:["staging",null,null]',
        'glass:[null,null,null]',
      ]);
      expect(recorded).toEqual({ ok: true, scheduleNow: true });
      expect(await sut().getLease(lease.id)).toEqual(lease);
    });

    it('recordLease returns the latest of the lease’s fences, read with the record', async () => {
      const { lease } = await claimed(sut(), `sess-${ids.requestId()}`);
      await sut().raiseFences([`session:${lease.sessionId}`], now + 10);
      await sut().raiseFences(['glass:["staging",null,null]'], now + 20);
      await sut().raiseFences(['glass:["production",null,null]'], now + 30); // not one of this lease's

      const recorded = await sut().recordLease(lease, { jti: lease.id }, now, undefined, [
        `session:${lease.sessionId}`,
        'glass:["staging",null,null]',
        'glass:[null,null,null]',
      ]);
      expect(recorded).toEqual({ ok: true, scheduleNow: true, latestFence: now + 20 });
      expect((await sut().getLease(lease.id))?.state).toBe('active');
    });

    it('recordLease without fences records as before', async () => {
      const { lease, request } = await claimed(sut());
      await sut().raiseFences(['glass:[null,null,null]'], now + 40);
      expect(await sut().recordLease(lease, { jti: lease.id }, now)).toEqual({ ok: true, scheduleNow: true });
      expect((await sut().getRequest(request.id))?.request).toMatchObject({ state: 'issued', leaseId: lease.id });
    });

    it('a refused record (the claim was taken over) writes nothing, whatever the fences', async () => {
      const { lease, request } = await claimed(sut());
      // Past the attempt's deadline: the reconciler takes the intent over, the late record must not land.
      expect(await sut().takeDeadClaim(lease.id, now + 700_000, now + 701_000)).toBeDefined();
      await sut().raiseFences(['glass:[null,null,null]'], now + 50);

      const recorded = await sut().recordLease(lease, { jti: lease.id }, now, undefined, ['glass:[null,null,null]']);
      expect(recorded.ok).toBe(false);
      expect(await sut().getLease(lease.id)).toBeUndefined();
      expect((await sut().getRequest(request.id))?.request.state).not.toBe('issued');
    });
  });
});
