import { Injectable } from '@nestjs/common';
import type { AccessRequest } from '@leash/core';

/** Requests kept at most: a burst beyond it only costs the claims of the oldest one read of the store each. */
const MAX_ENTRIES = 1024;

/**
 * Auto-approved requests this process just created, handed to their claim in this process so that it skips
 * reading the request back from the store (one Redis round trip, and decoding the record, per issuance).
 *
 * Only what never changes after creation is taken from here: who asked (issuer, subject), role, environment,
 * provider, TTL, frozen role settings, digest, policy version, session. Whether the request can still be
 * claimed (state `approved`, claim window open, present at all) is decided by the store's atomic begin-claim
 * step as before; when it refuses, the claim reads the stored request and answers from it as before. An
 * auto-approved request has no approvals to read (its receipt is `auto`), and narrowing applies to pending
 * requests only. Each entry is a copy taken when the request was recorded, used by one claim (taken out), and
 * dropped once its claim window has passed. Other processes, and any claim after the first, read the store.
 */
@Injectable()
export class RecentAutoApproved {
  private readonly requests = new Map<string, AccessRequest>();

  /** Keeps a copy of a request just recorded in state `approved` by an auto-approval; anything else is ignored. */
  remember(request: AccessRequest): void {
    if (request.state !== 'approved' || request.approval.kind !== 'auto') {
      return;
    }
    this.requests.set(request.id, copyData(request));
    if (this.requests.size > MAX_ENTRIES) {
      // Insertion order: the oldest goes first.
      const oldest = this.requests.keys().next().value;
      if (oldest !== undefined) {
        this.requests.delete(oldest);
      }
    }
  }

  /** The request as recorded, once (it is taken out), while its claim window is open at `now`; else undefined. */
  take(id: string, now: number): AccessRequest | undefined {
    const request = this.requests.get(id);
    if (request === undefined) {
      return undefined;
    }
    this.requests.delete(id);
    this.dropExpired(now);
    return request.expiresAt > now ? request : undefined;
  }

  /** Entries kept (tests and metrics). */
  get size(): number {
    return this.requests.size;
  }

  /** Drops requests whose claim window has passed, oldest first (entries are in creation order). */
  private dropExpired(now: number): void {
    for (const [id, request] of this.requests) {
      if (request.expiresAt > now) {
        return;
      }
      this.requests.delete(id);
    }
  }
}

/**
 * A deep copy of plain data (what a request record holds: objects, arrays, strings, numbers, booleans, null,
 * undefined members kept as such), ~6× cheaper than structuredClone per issuance (bench/RESULTS.md, r2-issuance).
 */
function copyData<T>(value: T): T {
  if (value === null || typeof value !== 'object') {
    return value;
  }
  if (Array.isArray(value)) {
    return value.map(copyData) as T;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    out[key] = copyData((value as Record<string, unknown>)[key]);
  }
  return out as T;
}
