import { fingerprintSecret, RandomIdGenerator } from '@leash/core';
import type { AccessRequest } from '@leash/core';
import type { RedisLeaseStore } from '@leash/leases';

const ids = new RandomIdGenerator();

export interface StoredLeaseSpec {
  environment: string;
  principal: string;
  sessionId?: string;
  /** The principal's issuer (default 'test'); the requester's own listing matches (issuer, subject). */
  issuer?: string;
  /** Expiry from now (default an hour). */
  ttlMs?: number;
}

/**
 * `count` active jwt leases written through the store as a claim writes them (request, claim
 * intent, lease record), 250 at a time, without minting a token each. Returns their ids in order.
 */
export async function storeLeases(store: RedisLeaseStore, count: number, spec: StoredLeaseSpec): Promise<string[]> {
  const out: string[] = [];
  for (let start = 0; start < count; start += 250) {
    const batch = Array.from({ length: Math.min(250, count - start) }, () => ({
      requestId: ids.requestId(),
      leaseId: ids.leaseId(),
    }));
    await Promise.all(batch.map((l) => storeLease(store, l.requestId, l.leaseId, spec)));
    out.push(...batch.map((l) => l.leaseId));
  }
  return out;
}

/**
 * An auto-approved jwt request as the API records it, ready to be claimed (claim window of 10 min
 * from `now`): staging asks for demo-staging-read, any other environment demo-prod-write.
 */
export function approvedRequest(
  id: string,
  r: { environment: string; principal: string; reason: string; now: number; issuer?: string; sessionId?: string },
): AccessRequest {
  return {
    id,
    state: 'approved',
    role: r.environment === 'staging' ? 'demo-staging-read' : 'demo-prod-write',
    environment: r.environment,
    ttlSeconds: 3600,
    reason: r.reason,
    principal: r.principal,
    issuer: r.issuer ?? 'test',
    context: {},
    decision: 'auto_approved',
    approval: { kind: 'auto', claimWindowSeconds: 600 },
    provider: 'jwt',
    risk: { level: 'low', reasons: [] },
    digest: 'd'.repeat(64),
    policyVersion: 'test',
    createdAt: r.now,
    expiresAt: r.now + 600_000,
    ...(r.sessionId ? { session: { id: r.sessionId } } : {}),
  };
}

async function storeLease(store: RedisLeaseStore, requestId: string, id: string, spec: StoredLeaseSpec): Promise<void> {
  const now = Date.now();
  const { environment, principal, sessionId } = spec;
  const role = environment === 'staging' ? 'demo-staging-read' : 'demo-prod-write';
  await store.createRequest(
    approvedRequest(requestId, {
      environment,
      principal,
      issuer: spec.issuer,
      sessionId,
      reason: 'leases written through the store',
      now,
    }),
  );
  const began = await store.beginClaim(
    {
      leaseId: id,
      requestId,
      provider: 'jwt',
      role,
      environment,
      principal,
      ...(sessionId ? { sessionId } : {}),
      identity: {},
      handle: { jti: id },
      ttlSeconds: 3600,
      owner: 'test',
      startedAt: now,
      deadline: now + 600_000,
    },
    now,
  );
  if (!began.ok) {
    throw new Error(`beginClaim refused: ${began.reason}`);
  }
  const recorded = await store.recordLease(
    {
      id,
      requestId,
      state: 'active',
      role,
      environment,
      provider: 'jwt',
      principal,
      issuer: spec.issuer ?? 'test',
      ...(sessionId ? { sessionId } : {}),
      issuedAt: now,
      expiresAt: now + (spec.ttlMs ?? 3600_000),
      fingerprint: fingerprintSecret(`secret-${id}`),
      providerRef: { jti: id },
      attempts: 0,
    },
    { jti: id },
    now,
  );
  if (!recorded.ok) {
    throw new Error(`recordLease refused: ${recorded.reason}`);
  }
}
