import type { AccessRequest, AgentSession, Approval, Lease, LeaseState, ProviderKind, RequestState } from '@leash/core';

export type TransitionResult = { ok: true } | { ok: false; reason: 'missing' | 'state' | 'deadline'; state?: string };

/** `scheduleNow`: the hand-over to revocation jobs already passed this lease's expiry; schedule its job now. */
/** `latestFence`: the latest raise time of the fences passed to recordLease, read atomically with the record. */
export type RecordLeaseResult =
  { ok: true; scheduleNow: boolean; latestFence?: number } | Exclude<TransitionResult, { ok: true }>;

/** Leases of the expiry index reserved for hand-over to revocation jobs, up to `upto` (inclusive). */
export interface DueLeases {
  upto: number;
  leases: { id: string; expiresAt: number; trace?: Record<string, string> }[];
}

/** `state`: 'approved' when this approval completed the quorum and moved the request with it. */
export type AddApprovalResult =
  | { ok: true; approvals: Approval[]; state: 'pending' | 'approved' }
  | {
      ok: false;
      /** 'changed': the approvals differ from those the caller counted towards completion; nothing was written. */
      reason: 'missing' | 'state' | 'deadline' | 'digest' | 'duplicate' | 'changed';
      state?: string;
    };

export type BeginRevokeResult =
  | { ok: true; lease: Lease; handle: Record<string, unknown> }
  | { ok: false; reason: 'missing' | 'state'; state?: LeaseState };

export interface RequestTransition {
  id: string;
  from: RequestState[];
  to: RequestState;
  now: number;
  /** 'before': only while now < expiresAt; 'after': only once now >= expiresAt. */
  deadline?: 'before' | 'after';
  /** New deadline for the target state; null removes the request from the deadline index. */
  expiresAt?: number | null;
  decidedAt?: number;
  denial?: { by: string; comment?: string };
  /** Why the system closed the request (recorded as `closedReason`). */
  reason?: string;
}

/** An approval that completes the quorum: how many other approvals it was counted with, and the claim window. */
export interface QuorumCompletion {
  counted: number;
  /** The approved request's claim deadline. */
  expiresAt: number;
  decidedAt: number;
}

export interface Narrowing {
  /** The digest the approver saw; the narrowing fails with 'digest' if the request changed since. */
  fromDigest: string;
  toDigest: string;
  ttlSeconds: number;
  narrowed: { fromTtlSeconds: number; by: string };
}

/**
 * A claim attempt in flight, recorded before the provider is called: what the credential will
 * carry and how to revoke it, the attempt's owner (an API process) and the deadline by which it
 * must heartbeat or record its lease. Recording the lease replaces it; a dead attempt's intent is
 * recovered by the reconciler.
 */
export interface ClaimIntent {
  leaseId: string;
  requestId: string;
  provider: ProviderKind;
  role: string;
  environment: string;
  principal: string;
  sessionId?: string;
  /** Non-secret names the credential will carry (e.g. AWS SourceIdentity). */
  identity: Record<string, string>;
  /** Revokes the credential if one was minted (provider's revocation handle; non-secret). */
  handle: Record<string, unknown>;
  ttlSeconds: number;
  /** Who runs the attempt (an API process instance). */
  owner: string;
  startedAt: number;
  /** The attempt counts as dead once this passes without a heartbeat. */
  deadline: number;
}

export type BeginClaimResult =
  { ok: true } | { ok: false; reason: 'missing' | 'state' | 'deadline'; state?: string; claimDeadline?: number };

export interface LeaseFilter {
  session?: string;
  principal?: string;
  environment?: string;
  role?: string;
  state?: LeaseState;
  limit: number;
}

/** A request as read, with its approvals (oldest first). */
export interface FoundRequest {
  request: AccessRequest;
  approvals: Approval[];
}

/** Persistence of requests, approvals and leases with atomic state transitions. */
export interface LeaseStore {
  createRequest(request: AccessRequest): Promise<void>;
  getRequest(id: string): Promise<FoundRequest | undefined>;
  transitionRequest(t: RequestTransition): Promise<TransitionResult>;
  /**
   * Records an approval of the request's current digest. With `completes`, the caller found that this
   * approval completes the quorum on top of `completes.counted` other approvals of that digest: the
   * request moves to approved in the same write (or nothing is written: 'changed').
   */
  addApproval(id: string, approval: Approval, now: number, completes?: QuorumCompletion): Promise<AddApprovalResult>;
  /** Atomically replaces TTL and digest of a pending request and records the approval of the new digest. */
  narrowAndApprove(
    id: string,
    narrowing: Narrowing,
    approval: Approval,
    now: number,
    completes?: QuorumCompletion,
  ): Promise<AddApprovalResult>;
  /** Ids of requests that are pending or approved-but-unclaimed (they have a deadline). */
  openRequests(limit: number): Promise<string[]>;
  /**
   * Takes the claim: atomically moves the request approved → issuing (within its claim window) and
   * records the attempt's intent. Refused with the current state (and, when issuing, the running
   * attempt's deadline).
   */
  beginClaim(intent: ClaimIntent, now: number): Promise<BeginClaimResult>;
  /** Extends a live attempt's deadline; false once the attempt was taken over (recovered) or ended. */
  heartbeatClaim(leaseId: string, deadline: number): Promise<boolean>;
  /** The provider minted nothing: drops the intent and moves the request issuing → approved. */
  abandonClaim(intent: ClaimIntent, now: number): Promise<TransitionResult>;
  /** Lease ids of claim intents whose attempt missed its deadline (dead, or a recovery to retry). */
  deadClaims(now: number, limit: number): Promise<string[]>;
  /**
   * Takes over a dead attempt's intent for recovery: detaches it from its request (so a late
   * recordLease of the attempt fails) and gives this recovery until `retryAt` before another may retry.
   */
  takeDeadClaim(leaseId: string, now: number, retryAt: number): Promise<ClaimIntent | undefined>;
  /**
   * Drops a recovered intent and frees its request: approved again within its claim window,
   * expired (`claim_interrupted`) after it. Returns the request's new state, if it changed.
   */
  finishRecoveredClaim(leaseId: string, now: number): Promise<'approved' | 'expired' | undefined>;
  /**
   * Atomically marks the request issued and records the lease with its indexes; the lease replaces the claim's
   * intent. The latest raise time of `fences` (scopes as in raiseFences) is read in the same atomic step and
   * returned, so a claim learns whether an end it raced was raised before its lease existed without another call.
   */
  recordLease(
    lease: Lease,
    handle: Record<string, unknown>,
    now: number,
    trace?: Record<string, string>,
    fences?: string[],
  ): Promise<RecordLeaseResult>;
  /**
   * Reserves the active leases due up to `until` that no hand-over has taken yet (at most `limit`;
   * with the issuance's trace context when it was recorded;
   * `upto` says how far the reservation reached). A claim recording a lease due before a reservation
   * schedules its job itself, so none falls between a reservation and its commit.
   */
  reserveDue(until: number, limit: number): Promise<DueLeases>;
  /** Marks the leases up to `upto` as handed over; call only once their jobs exist. */
  commitDue(upto: number): Promise<void>;
  /** How far (a time) the hand-over has committed revocation jobs; undefined before its first run. */
  handedOverUpTo(): Promise<number | undefined>;
  getLease(id: string): Promise<Lease | undefined>;
  listLeases(filter: LeaseFilter): Promise<Lease[]>;
  /**
   * One bounded page of leases matching the filter, newest first in the order of the index
   * `leaseIndexOf(filter)` names: at most `scan` index entries (and lease records) are read from
   * `cursor` on, so a page may hold fewer than `filter.limit` leases and still have a `next`.
   */
  pageLeases(filter: LeaseFilter, cursor: LeaseCursor | undefined, scan: number): Promise<LeasePage>;
  /**
   * Drops index entries of every lease whose records are gone (retention passed), at most about `limit`;
   * returns how many. The index holds the leases in recording order and is trimmed from its oldest end, so it
   * never grows past the records of the oldest lease still kept and those recorded after it.
   */
  trimLeaseIndex(limit: number): Promise<number>;
  listSessionRequests(sessionId: string): Promise<string[]>;
  /**
   * Every lease not yet revoked (active, revoking, revocation_failed) with its revocation handle,
   * however many, in batches; ids are read once at the start (break glass walks them all).
   */
  unrevokedLeases(batchSize: number): AsyncIterable<{ lease: Lease; handle: Record<string, unknown> }[]>;
  beginRevoke(id: string, reason: string, now: number): Promise<BeginRevokeResult>;
  completeRevoke(id: string, now: number): Promise<TransitionResult>;
  failRevoke(id: string, error: string, final: boolean, now: number, retryAt: number): Promise<TransitionResult>;
  overdueLeases(now: number, limit: number): Promise<string[]>;
  quarantinedDue(now: number, limit: number): Promise<string[]>;
  overdueRequests(now: number, limit: number): Promise<string[]>;
  /** Registers or re-activates an agent session; refused ('owner') when another principal holds the id. */
  registerSession(session: AgentSession): Promise<SessionWriteResult>;
  /** Records a heartbeat of the session's own principal; refused once the session ended or went idle. */
  heartbeatSession(id: string, who: { principal: string; issuer: string }, now: number): Promise<SessionWriteResult>;
  /**
   * Binds a session id to a principal (issuer, subject) unless another one holds it ('owner'); an
   * unregistered id becomes the first binder's. Registering checks the same owner.
   */
  bindSession(id: string, who: { principal: string; issuer: string }): Promise<SessionWriteResult>;
  /** The principal a session id belongs to (registered or bound by a request), if any. */
  sessionOwner(id: string): Promise<{ principal: string; issuer: string } | undefined>;
  getSession(id: string): Promise<AgentSession | undefined>;
  /** Ends a session; with `onlyIfIdle` only when it is active and past its idle deadline. */
  endSession(id: string, now: number, reason: string, onlyIfIdle: boolean): Promise<TransitionResult>;
  /** Ids of active sessions whose idle deadline has passed. */
  idleSessions(now: number, limit: number): Promise<string[]>;
  /**
   * Short exclusive lock on deciding one request (approve/deny), so concurrent approvers are
   * serialized: the second sees the first one's outcome. Returns a token, or undefined when held.
   */
  lockRequest(id: string, ttlMs: number): Promise<string | undefined>;
  /**
   * lockRequest, and when the lock is taken, the request as it is under the lock (read after the lock
   * was set), in one round trip. `found` is undefined when the request does not exist or the lock is held.
   */
  lockAndGetRequest(id: string, ttlMs: number): Promise<{ token?: string; found?: FoundRequest }>;
  unlockRequest(id: string, token: string): Promise<void>;
  /**
   * Resolves when the request's state may have changed, or after timeoutMs. `stillWaiting` is
   * checked once the listener is in place, so a change just before the call is not missed.
   */
  waitForChange(id: string, timeoutMs: number, stillWaiting?: () => Promise<boolean>): Promise<void>;
  /**
   * Tells every broker process that these leases' revocations are accepted but not yet recorded
   * (Redis refused the write). Redis PUBLISH is taken even out of memory, so every replica's
   * introspection answers inactive at once, not only the one that took the revocation.
   */
  announcePendingRevocations(leaseIds: string[]): Promise<void>;
  /** Calls `listener` with the lease ids any process announces as pending revocation. */
  onPendingRevocations(listener: (leaseIds: string[]) => void): Promise<void>;
  ping(): Promise<void>;
  /**
   * Records that everything under these scopes (e.g. `session:ID`, `env:production`) was ended at
   * `at` (session end, break glass). A claim that was already in flight checks the fences after
   * recording its lease and revokes it, so no claim outlives the end it raced.
   */
  raiseFences(scopes: string[], at: number): Promise<void>;
  /** The latest time any of these scopes was fenced, if any. */
  latestFence(scopes: string[]): Promise<number | undefined>;
}

export type SessionWriteResult =
  { ok: true } | { ok: false; reason: 'missing' | 'owner' | 'state' | 'deadline'; state?: string };

export const LEASE_STORE = Symbol('LeaseStore');

/** Which index a lease listing walks for a filter (a cursor is valid only for the same one). */
export type LeaseIndex = 'all' | 'expiry' | 'quarantine' | 'session' | 'principal';

/**
 * A position in a lease listing: after (score, id) in a sorted-set index, walked from the highest
 * score down; or a position in a session's or principal's id list (negative: in the set an earlier
 * version wrote, -1 - how many of it were read); or, listing every lease, a position in the list of
 * every lease counted from the first one ever recorded (-1, or one already trimmed: the sorted set by
 * issue time an earlier version wrote follows, walked with (score, id) positions).
 */
export type LeaseCursor =
  | { index: 'all' | 'expiry' | 'quarantine'; score: number; id: string }
  | { index: 'session' | 'principal' | 'all'; pos: number };

export interface LeasePage {
  /** Matching leases in index order, each with the cursor that continues right after it. */
  items: { lease: Lease; after: LeaseCursor }[];
  /** Continues after the last entry read; absent once the index is exhausted. */
  next?: LeaseCursor;
}

/** The index `pageLeases` walks for this filter. */
export function leaseIndexOf(f: Pick<LeaseFilter, 'session' | 'principal' | 'state'>): LeaseIndex {
  if (f.session) {
    return 'session';
  }
  if (f.principal) {
    return 'principal';
  }
  if (f.state === 'active' || f.state === 'revoking') {
    return 'expiry';
  }
  return f.state === 'revocation_failed' ? 'quarantine' : 'all';
}
