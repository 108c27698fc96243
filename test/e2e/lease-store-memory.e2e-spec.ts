import type { Redis } from 'ioredis';
import { RandomIdGenerator, fingerprintSecret, type AccessRequest, type Lease } from '@leash/core';
import { issuerIdOf, LeaseError, RedisLeaseStore } from '@leash/leases';
import { RedisServer } from '../support/redis-server';

const PREFIX = '{leash}';
const RETENTION = 3600;
const ids = new RandomIdGenerator();

/**
 * The compact records and indexes of issue 19 (Redis memory per active lease), on a real
 * redis-server: what the store answers is unchanged, whether a record was written in the compact
 * form or by an earlier version.
 */
describe('lease store: compact indexes and records answer as before', () => {
  let redis: RedisServer;
  let client: Redis;
  let store: RedisLeaseStore;

  beforeAll(async () => {
    redis = await RedisServer.start('lease-store-memory');
    client = redis.client();
    store = new RedisLeaseStore(client, PREFIX, RETENTION);
  });

  afterAll(async () => {
    await store?.close();
    client?.disconnect();
    await redis?.stop();
  });

  function request(over: Partial<AccessRequest> = {}): AccessRequest {
    const now = Date.now();
    return {
      id: ids.requestId(),
      state: 'approved',
      role: 'demo-staging-read',
      environment: 'staging',
      ttlSeconds: 3600,
      reason: 'read the staging API for the nightly report',
      principal: 'agent-memory',
      issuer: 'http://127.0.0.1:8080/dev',
      session: { id: 'sess-memory', agent: 'claude-code', host: 'ci-runner' },
      context: {},
      decision: 'auto_approved',
      approval: { kind: 'auto', claimWindowSeconds: 600 },
      provider: 'jwt',
      risk: { level: 'low', reasons: [], findings: [] },
      digest: 'd'.repeat(64),
      policyVersion: 'sha256:0123456789ab',
      principalGroups: [],
      scope: { audience: 'demo-api', scope: ['read'] },
      roleFingerprint: 'f'.repeat(64),
      createdAt: now,
      expiresAt: now + 600_000,
      ...over,
    };
  }

  /**
   * Creates the request, takes the claim and records the lease, as a claim does; a JWT lease unless `provider` gives
   * the lease's reference and revocation handle.
   */
  async function issue(
    r: AccessRequest,
    ttlMs = 3_600_000,
    at = Date.now(),
    provider?: (leaseId: string) => { ref: Record<string, string>; handle: Record<string, unknown> },
  ): Promise<Lease> {
    await store.createRequest(r);
    const leaseId = ids.leaseId();
    const given = provider?.(leaseId);
    const began = await store.beginClaim(
      {
        leaseId,
        requestId: r.id,
        provider: r.provider,
        role: r.role,
        environment: r.environment,
        principal: r.principal,
        ...(r.session ? { sessionId: r.session.id } : {}),
        identity: {},
        handle: given?.handle ?? { jti: leaseId },
        ttlSeconds: r.ttlSeconds,
        owner: 'test',
        startedAt: at,
        deadline: at + 60_000,
      },
      at,
    );
    expect(began).toEqual({ ok: true });
    const lease: Lease = {
      id: leaseId,
      requestId: r.id,
      state: 'active',
      role: r.role,
      environment: r.environment,
      provider: r.provider,
      principal: r.principal,
      issuer: r.issuer,
      ...(r.session ? { sessionId: r.session.id } : {}),
      issuedAt: at,
      expiresAt: at + ttlMs,
      fingerprint: fingerprintSecret(`secret-${leaseId}`),
      providerRef: given?.ref ?? { jti: leaseId, kid: 'k-2026-11' },
      attempts: 0,
    };
    expect(await store.recordLease(lease, given?.handle ?? { jti: leaseId }, at)).toMatchObject({ ok: true });
    return lease;
  }

  it('lists a session’s and a principal’s leases and requests, newest first, each once', async () => {
    const session = { id: `sess-${ids.requestId()}`, agent: 'claude-code' };
    const principal = `agent-${ids.requestId()}`;
    const t0 = Date.now();
    const leases: Lease[] = [];
    const requests: AccessRequest[] = [];
    for (let i = 0; i < 3; i += 1) {
      const r = request({ session, principal, createdAt: t0 + i });
      requests.push(r);
      leases.push(await issue(r, 3_600_000, t0 + i));
    }
    const open = request({ session, principal, state: 'pending' });
    await store.createRequest(open);

    const newestFirst = leases.map((l) => l.id).reverse();
    expect((await store.listLeases({ session: session.id, limit: 10 })).map((l) => l.id)).toEqual(newestFirst);
    expect((await store.listLeases({ principal, limit: 10 })).map((l) => l.id)).toEqual(newestFirst);
    expect(await store.listSessionRequests(session.id)).toEqual([open.id, ...requests.map((r) => r.id).reverse()]);
    // Each lease is whole: what was recorded is what is listed.
    expect(await store.listLeases({ session: session.id, limit: 1 })).toEqual([leases[2]]);
  });

  it('leases and requests an earlier version indexed in sets are still listed, with the new ones', async () => {
    const session = { id: `sess-${ids.requestId()}` };
    const principal = `agent-${ids.requestId()}`;
    const t0 = Date.now();
    const before = await issue(request({ session, principal }), 3_600_000, t0);
    const beforeReq = before.requestId;
    // Move its index entries into the sets the earlier version wrote.
    const moves: [string, string][] = [
      [`${PREFIX}:session:${session.id}:lease-ids`, `${PREFIX}:session:${session.id}:leases`],
      [`${PREFIX}:principal:${principal}:lease-ids`, `${PREFIX}:principal:${principal}:leases`],
      [`${PREFIX}:session:${session.id}:request-ids`, `${PREFIX}:session:${session.id}:reqs`],
    ];
    for (const [list, set] of moves) {
      const members = await client.lrange(list, 0, -1);
      await client.del(list);
      await client.sadd(set, ...members);
      await client.expire(set, RETENTION);
    }
    const after = await issue(request({ session, principal }), 3_600_000, t0 + 1);

    expect((await store.listLeases({ session: session.id, limit: 10 })).map((l) => l.id)).toEqual([
      after.id,
      before.id,
    ]);
    expect((await store.listLeases({ principal, limit: 10 })).map((l) => l.id)).toEqual([after.id, before.id]);
    expect(await store.listSessionRequests(session.id)).toEqual([after.requestId, beforeReq]);
  });

  it('a shorter lease recorded later does not cut how long a principal’s or session’s index lives', async () => {
    const session = { id: `sess-${ids.requestId()}` };
    const principal = `agent-${ids.requestId()}`;
    await issue(request({ session, principal }), 6 * 3_600_000);
    await issue(request({ session, principal }), 60_000);
    // The long lease needs its index entries for as long as its record is kept: retention after its expiry.
    const needed = RETENTION + 6 * 3600 - 60;
    expect(await client.ttl(`${PREFIX}:principal:${principal}:lease-ids`)).toBeGreaterThan(needed);
    expect(await client.ttl(`${PREFIX}:session:${session.id}:lease-ids`)).toBeGreaterThan(needed);
  });
  it('a request reads back as created, before and after its claim, also in a process that never saw it', async () => {
    const r = request({
      context: { plan: 'terraform plan' },
      risk: { level: 'medium', reasons: ['plan'], findings: [] },
    });
    await store.createRequest(r);
    expect((await store.getRequest(r.id))!.request).toEqual(r);
    const plain = request();
    const lease = await issue(plain);
    const fresh = new RedisLeaseStore(client, PREFIX, RETENTION);
    try {
      expect((await fresh.getRequest(r.id))!.request).toEqual(r);
      expect((await fresh.getRequest(plain.id))!.request).toEqual({ ...plain, state: 'issued', leaseId: lease.id });
    } finally {
      await fresh.close();
    }
  });

  it('what the policy decided for a role is kept once for all its requests, as long as any of them', async () => {
    const role = `role-${ids.requestId()}`;
    const before = new Set(await client.keys(`${PREFIX}:req-shared:*`));
    const leases: Lease[] = [];
    for (let i = 0; i < 5; i += 1) {
      leases.push(await issue(request({ role, roleFingerprint: role })));
    }
    const added = (await client.keys(`${PREFIX}:req-shared:*`)).filter((k) => !before.has(k));
    expect(added).toHaveLength(1);
    // It outlives the requests naming it (their records are kept until retention after the lease).
    const sharedTtl = await client.ttl(added[0]);
    for (const l of leases) {
      expect(sharedTtl).toBeGreaterThanOrEqual(await client.ttl(`${PREFIX}:req:${l.requestId}`));
    }
  });

  it('one subject under two issuers: each lease names its own issuer by id and reads back that exact issuer', async () => {
    const principal = `agent-twin-${ids.requestId()}`;
    const a = 'http://127.0.0.1:8080/dev';
    const b = 'https://login.example.com/2f0c4e9a-5b7d-4c1e-9a3f-6d8e1b2c3a4f/v2.0';
    const leaseA = await issue(request({ principal, issuer: a }));
    const leaseB = await issue(request({ principal, issuer: b }));
    // The records hold an 8-character id, not the issuer (a 70-byte one would leave the listpack encoding).
    for (const [lease, issuer] of [
      [leaseA, a],
      [leaseB, b],
    ] as const) {
      expect(await client.hmget(`${PREFIX}:lease:${lease.id}`, 'i', 'is')).toEqual([null, issuerIdOf(issuer)]);
      expect(await client.hget(`${PREFIX}:issuers`, issuerIdOf(issuer))).toBe(issuer);
      expect(await client.object('ENCODING', `${PREFIX}:lease:${lease.id}`)).toBe('listpack');
    }
    // Read in this process and in one that never saw them, one by one, listed, and at revocation.
    const fresh = new RedisLeaseStore(client, PREFIX, RETENTION);
    try {
      for (const s of [store, fresh]) {
        expect(await s.getLease(leaseA.id)).toEqual(leaseA);
        expect(await s.getLease(leaseB.id)).toEqual(leaseB);
        expect(await s.listLeases({ principal, limit: 10 })).toEqual([leaseB, leaseA]);
      }
      const begun = await fresh.beginRevoke(leaseB.id, 'manual', Date.now());
      expect(begun).toMatchObject({ ok: true, lease: { id: leaseB.id, issuer: b }, handle: { jti: leaseB.id } });
    } finally {
      await fresh.close();
    }
  });

  it('an AWS lease (long reference and handle) and a request with a long reason stay listpacks and read back', async () => {
    // Production Redis keeps its default: a hash with one value over 64 bytes becomes a hash table (~2× the memory).
    await client.config('SET', 'hash-max-listpack-value', '64');
    try {
      const reason =
        'rotate the production signing key, then check that the canary fleet picked it up — ticket OPS-4711';
      const r = request({
        role: 'aws-admin',
        provider: 'aws',
        reason,
        context: { plan: 'terraform plan -target=module.kms '.repeat(3) },
      });
      const handle = {
        roleArn: 'arn:aws:iam::123456789012:role/leash-production-admin',
        roleName: 'leash-production-admin',
        budget: 2048,
      };
      const lease = await issue(r, 3_600_000, Date.now(), (leaseId) => ({
        ref: {
          sourceIdentity: leaseId,
          accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
          roleSessionName: `leash-${leaseId}`,
          assumedRoleArn: `arn:aws:sts::123456789012:assumed-role/leash-production-admin/leash-${leaseId}`,
        },
        handle: { ...handle, sourceIdentity: leaseId },
      }));
      const leaseId = lease.id;
      expect(await client.object('ENCODING', `${PREFIX}:lease:${leaseId}`)).toBe('listpack');
      expect(await client.object('ENCODING', `${PREFIX}:req:${r.id}`)).toBe('listpack');
      const fresh = new RedisLeaseStore(client, PREFIX, RETENTION);
      try {
        expect(await fresh.getLease(leaseId)).toEqual(lease);
        expect((await fresh.getRequest(r.id))!.request).toMatchObject({ reason, context: r.context, leaseId });
        expect(await fresh.beginRevoke(leaseId, 'manual', Date.now())).toMatchObject({
          ok: true,
          handle: { ...handle, sourceIdentity: leaseId },
        });
      } finally {
        await fresh.close();
      }
    } finally {
      await client.config('SET', 'hash-max-listpack-value', '1024');
    }
  });

  it('an issuer whose id another issuer holds is kept in the lease record itself', async () => {
    const principal = `agent-${ids.requestId()}`;
    const issuer = `https://collides-${ids.requestId()}.example`;
    // As if another issuer had the same 8-character id first.
    await client.hset(`${PREFIX}:issuers`, issuerIdOf(issuer), 'https://first.example');
    const lease = await issue(request({ principal, issuer }));
    expect(await client.hmget(`${PREFIX}:lease:${lease.id}`, 'i', 'is')).toEqual([issuer, null]);
    expect(await client.hget(`${PREFIX}:issuers`, issuerIdOf(issuer))).toBe('https://first.example');
    const fresh = new RedisLeaseStore(client, PREFIX, RETENTION);
    try {
      expect(await fresh.getLease(lease.id)).toEqual(lease);
    } finally {
      await fresh.close();
    }
  });

  it('a lease whose issuer name is gone is reported corrupt, never answered without it', async () => {
    const issuer = `https://gone-${ids.requestId()}.example`;
    const lease = await issue(request({ issuer }));
    await client.hdel(`${PREFIX}:issuers`, issuerIdOf(issuer));
    const fresh = new RedisLeaseStore(client, PREFIX, RETENTION);
    try {
      await expect(fresh.getLease(lease.id)).rejects.toBeInstanceOf(LeaseError);
    } finally {
      await fresh.close();
    }
  });

  it('a request whose shared part is gone is reported corrupt, never answered without it', async () => {
    const role = `role-${ids.requestId()}`;
    const r = request({ role, roleFingerprint: role });
    await store.createRequest(r);
    const shared = await client.hget(`${PREFIX}:req:${r.id}`, 'sh');
    await client.del(`${PREFIX}:req-shared:${shared}`);
    const fresh = new RedisLeaseStore(client, PREFIX, RETENTION);
    try {
      await expect(fresh.getRequest(r.id)).rejects.toBeInstanceOf(LeaseError);
    } finally {
      await fresh.close();
    }
  });
});
