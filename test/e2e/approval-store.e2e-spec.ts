import type { Redis } from 'ioredis';
import { RandomIdGenerator, type AccessRequest, type Approval } from '@leash/core';
import { RedisLeaseStore } from '@leash/leases';
import { RedisServer } from '../support/redis-server';

const PREFIX = '{leash}';
const ids = new RandomIdGenerator();

/**
 * The store's half of quorum integrity, on a real redis-server: the approval that completes a quorum
 * moves the request to approved in the same script, and only if the approvals are still those the
 * caller counted; otherwise nothing at all is written.
 */
describe('lease store: an approval completing the quorum is one write', () => {
  let redis: RedisServer;
  let client: Redis;
  let store: RedisLeaseStore;
  const now = Date.now();

  beforeAll(async () => {
    redis = await RedisServer.start('approval-store');
    client = redis.client();
    store = new RedisLeaseStore(client, PREFIX, 3600);
  });

  afterAll(async () => {
    await store?.close();
    client?.disconnect();
    await redis?.stop();
  });

  async function pending(): Promise<AccessRequest> {
    const request: AccessRequest = {
      id: ids.requestId(),
      state: 'pending',
      role: 'demo-prod-write',
      environment: 'production',
      ttlSeconds: 600,
      reason: 'quorum store',
      principal: 'agent-quorum',
      issuer: 'test',
      context: {},
      decision: 'needs_approval',
      approval: {
        kind: 'quorum',
        claimWindowSeconds: 600,
        timeoutSeconds: 3600,
        requirements: [{ groups: ['prod-approvers'], quorum: 2 }],
      },
      provider: 'jwt',
      risk: { level: 'high', reasons: [] },
      digest: 'a'.repeat(64),
      policyVersion: 'test',
      createdAt: now,
      expiresAt: now + 3_600_000,
    };
    await store.createRequest(request);
    return request;
  }
  const approval = (approver: string, digest = 'a'.repeat(64)): Approval => ({
    approver,
    groups: ['prod-approvers'],
    digest,
    channel: 'api',
    at: now,
  });
  const deadline = (id: string) => client.zscore(`${PREFIX}:req:deadlines`, id);

  it('the completing approval moves the request to approved with its claim window, atomically', async () => {
    const r = await pending();
    const first = await store.addApproval(r.id, approval('alice'), now);
    expect(first).toMatchObject({ ok: true, state: 'pending' });
    expect((await store.getRequest(r.id))!.request.state).toBe('pending');

    const second = await store.addApproval(r.id, approval('bob'), now + 1, {
      counted: 1,
      expiresAt: now + 600_000,
      decidedAt: now + 1,
    });
    expect(second).toMatchObject({ ok: true, state: 'approved' });
    const after = await store.getRequest(r.id);
    expect(after!.request).toMatchObject({ state: 'approved', expiresAt: now + 600_000, decidedAt: now + 1 });
    expect(after!.approvals.map((a) => a.approver).sort()).toEqual(['alice', 'bob']);
    expect(Number(await deadline(r.id))).toBe(now + 600_000);
  });

  it('approvals that changed since they were counted: refused as changed, nothing written', async () => {
    const r = await pending();
    await store.addApproval(r.id, approval('alice'), now);
    // The caller counted no other approval (stale): completing on that count would skip alice.
    const stale = await store.addApproval(r.id, approval('bob'), now, {
      counted: 0,
      expiresAt: now + 600_000,
      decidedAt: now,
    });
    expect(stale).toEqual({ ok: false, reason: 'changed', state: 'pending' });
    const after = await store.getRequest(r.id);
    expect(after!.request.state).toBe('pending');
    expect(after!.approvals.map((a) => a.approver)).toEqual(['alice']);
    expect(Number(await deadline(r.id))).toBe(now + 3_600_000);
  });

  it('a narrowing approval that completes the quorum replaces the digest and approves in one write', async () => {
    const r = await pending();
    const narrowedDigest = 'b'.repeat(64);
    const res = await store.narrowAndApprove(
      r.id,
      {
        fromDigest: r.digest,
        toDigest: narrowedDigest,
        ttlSeconds: 300,
        narrowed: { fromTtlSeconds: 600, by: 'alice' },
      },
      approval('alice', narrowedDigest),
      now,
      { counted: 0, expiresAt: now + 600_000, decidedAt: now },
    );
    expect(res).toMatchObject({ ok: true, state: 'approved' });
    expect((await store.getRequest(r.id))!.request).toMatchObject({
      state: 'approved',
      digest: narrowedDigest,
      ttlSeconds: 300,
    });
  });

  it('no completion is recorded on a request that is no longer pending', async () => {
    const r = await pending();
    await store.addApproval(r.id, approval('alice'), now);
    await store.addApproval(r.id, approval('bob'), now, { counted: 1, expiresAt: now + 600_000, decidedAt: now });
    const late = await store.addApproval(r.id, approval('carol'), now, {
      counted: 2,
      expiresAt: now + 900_000,
      decidedAt: now,
    });
    expect(late).toEqual({ ok: false, reason: 'state', state: 'approved' });
    expect((await store.getRequest(r.id))!.approvals).toHaveLength(2);
  });
  it("lockAndGetRequest on a held lock returns no token; the holder's unlock frees it", async () => {
    const r = await pending();
    const first = await store.lockAndGetRequest(r.id, 5000);
    expect(first.token).toBeDefined();
    expect(first.found?.request).toMatchObject({ id: r.id, state: 'pending' });
    expect(await store.lockAndGetRequest(r.id, 5000)).toEqual({});
    await store.unlockRequest(r.id, 'not-the-token');
    expect(await store.lockAndGetRequest(r.id, 5000)).toEqual({});
    await store.unlockRequest(r.id, first.token!);
    expect((await store.lockAndGetRequest(r.id, 5000)).token).toBeDefined();
  });
});
