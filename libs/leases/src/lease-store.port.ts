import type { AccessRequest, AgentSession, Approval, Lease, LeaseState, RequestState } from '@leash/core';

export type TransitionResult = { ok: true } | { ok: false; reason: 'missing' | 'state' | 'deadline'; state?: string };

/** `scheduleNow`: the hand-over to revocation jobs already passed this lease's expiry; schedule its job now. */
export type RecordLeaseResult = { ok: true; scheduleNow: boolean } | Exclude<TransitionResult, { ok: true }>;

/** Leases of the expiry index reserved for hand-over to revocation jobs, up to `upto` (inclusive). */
export interface DueLeases {
  upto: number;
  leases: { id: string; expiresAt: number; trace?: Record<string, string> }[];
}

export type AddApprovalResult =
  | { ok: true; approvals: Approval[] }
  | {
      ok: false;
      reason: 'missing' | 'state' | 'deadline' | 'digest' | 'duplicate';
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

export interface Narrowing {
  /** The digest the approver saw; the narrowing fails with 'digest' if the request changed since. */
  fromDigest: string;
  toDigest: string;
  ttlSeconds: number;
  narrowed: { fromTtlSeconds: number; by: string };
}

export interface LeaseFilter {
  session?: string;
  principal?: string;
  environment?: string;
  role?: string;
  state?: LeaseState;
  limit: number;
}

/** Persistence of requests, approvals and leases with atomic state transitions. */
export interface LeaseStore {
  createRequest(request: AccessRequest): Promise<void>;
  getRequest(id: string): Promise<{ request: AccessRequest; approvals: Approval[] } | undefined>;
  transitionRequest(t: RequestTransition): Promise<TransitionResult>;
  addApproval(id: string, approval: Approval, now: number): Promise<AddApprovalResult>;
  /** Atomically replaces TTL and digest of a pending request and records the approval of the new digest. */
  narrowAndApprove(id: string, narrowing: Narrowing, approval: Approval, now: number): Promise<AddApprovalResult>;
  /** Ids of requests that are pending or approved-but-unclaimed (they have a deadline). */
  openRequests(limit: number): Promise<string[]>;
  /** Atomically marks the request issued and records the lease with its indexes. */
  recordLease(
    lease: Lease,
    handle: Record<string, unknown>,
    now: number,
    trace?: Record<string, string>,
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
  getLease(id: string): Promise<Lease | undefined>;
  listLeases(filter: LeaseFilter): Promise<Lease[]>;
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
  unlockRequest(id: string, token: string): Promise<void>;
  /**
   * Resolves when the request's state may have changed, or after timeoutMs. `stillWaiting` is
   * checked once the listener is in place, so a change just before the call is not missed.
   */
  waitForChange(id: string, timeoutMs: number, stillWaiting?: () => Promise<boolean>): Promise<void>;
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
