import type { AccessRequest, RiskLevel } from '@leash/core';

export interface NotifierLogger {
  log(message: string): void;
}

/** Whose queue to read: everything (admins), or the requests any of these approver groups can approve. */
export type PendingAudience = { kind: 'all' } | { kind: 'groups'; groups: readonly string[] };

export interface PendingQuery {
  audience: PendingAudience;
  environment?: string;
  role?: string;
  risk?: RiskLevel;
  limit: number;
}

export interface PendingSlice {
  /** In queue order: risk (critical, high, medium, low), then age (oldest first). */
  ids: string[];
  /** How many entries match the query in all (the slice holds at most `limit` of them). */
  total: number;
}

/** Ids of requests awaiting approval, kept by the web notifier for the approver console. */
export interface PendingRequestIndex {
  /**
   * One page of the queue, filtered and ordered by the index itself (no request is read to sort or count).
   * May hold ids that are no longer pending (a missed update): callers re-check and remove them.
   */
  list(query: PendingQuery): Promise<PendingSlice>;
  /** Puts a pending request in the queue (idempotent). */
  add(request: AccessRequest): Promise<void>;
  remove(id: string): Promise<void>;
  /**
   * Takes up to `limit` ids out of the index written before the queue was ordered by risk (a set by
   * creation time only); the caller adds back those still pending. Empty once migrated.
   */
  takeLegacy(limit: number): Promise<string[]>;
}

export const PENDING_REQUEST_INDEX = Symbol('PendingRequestIndex');
