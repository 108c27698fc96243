import type { Channel, ChainPoint, ChainVerification, Decision, RiskLevel } from '@leash/core';

export type AuditAction =
  | 'request.created'
  | 'request.denied_by_policy'
  | 'request.approved'
  | 'request.approval_recorded'
  | 'request.denied'
  | 'request.cancelled'
  | 'request.expired'
  | 'credential.issued'
  | 'credential.issue_failed'
  | 'lease.revoked'
  | 'lease.revoke_failed'
  | 'lease.revocation_failed'
  | 'provider.revocation_escalated'
  | 'provider.follow_up'
  | 'provider.follow_up_failed'
  | 'session.registered'
  | 'session.revoked'
  | 'session.idle_expired'
  | 'session.event'
  | 'slack.interaction_refused'
  | 'policy.reloaded'
  | 'policy.reload_failed'
  | 'identity.swept'
  | 'admin.break_glass'
  | 'audit.checkpoint'
  | 'store.reset'
  | 'store.reset_acknowledged'
  | 'claim.recovered';

/**
 * A lease named by an event about many leases: break glass audits the leases it revokes a batch at a
 * time, one `lease.revoked` event naming each of them (the filters of `GET /v1/audit` look into it).
 */
export interface AuditLeaseRef {
  leaseId: string;
  requestId: string;
  sessionId?: string;
  principal: string;
  role: string;
  environment: string;
  provider: string;
  providerRef?: Record<string, string>;
}

/**
 * One audit event. `seq`, `prevHash` and `hash` are assigned by the log on append: `seq` counts
 * from 1 without gaps, `prevHash` is the hash of event `seq - 1`, and `hash` is the SHA-256 of the
 * canonical event (see `auditEventHash` in @leash/core).
 */
export interface AuditEvent {
  seq: number;
  time: string;
  actor: { id: string; channel: Channel };
  action: AuditAction;
  requestId?: string;
  leaseId?: string;
  sessionId?: string;
  role?: string;
  environment?: string;
  decision?: Decision | 'approved' | 'denied';
  risk?: RiskLevel;
  policyVersion?: string;
  provider?: string;
  /** Provider-side identifiers (JWT jti/kid, AWS SourceIdentity/AssumedRoleId, K8s ServiceAccount uid, GCP account). */
  providerRef?: Record<string, string>;
  /** The leases of an event about many (break glass, a batch at a time); `leaseId` names one lease only. */
  leases?: AuditLeaseRef[];
  details?: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** What producers hand to `append`; the log assigns the rest. */
export type NewAuditEvent = Omit<AuditEvent, 'seq' | 'time' | 'prevHash' | 'hash'> & { time?: string };

export interface AuditQuery {
  /** Exclusive: events after this seq. */
  after?: number;
  limit: number;
  from?: string;
  to?: string;
  actor?: string;
  session?: string;
  request?: string;
  lease?: string;
  environment?: string;
  action?: string;
}

export interface AuditPage {
  events: AuditEvent[];
  /** Pass as `after` for the next page; absent at the end of the log. */
  nextCursor?: number;
}

/** Append-only, hash-chained audit log. */
export interface AuditLog {
  /** Appends in call order; appends made in the same turn may be committed together. */
  append(event: NewAuditEvent): Promise<AuditEvent>;
  list(query: AuditQuery): Promise<AuditPage>;
  /** Events in seq order from `after` (exclusive), at most `count`. */
  range(after: number, count: number): Promise<AuditEvent[]>;
  head(): Promise<ChainPoint | undefined>;
  /** The last event removed by retention trimming: the chain's starting point. */
  anchor(): Promise<ChainPoint | undefined>;
  verify(checkpoints?: ChainPoint[]): Promise<ChainVerification>;
  /** Removes events up to `seq` (inclusive) and remembers the last one as the anchor. */
  trimThrough(seq: number): Promise<number>;
}

/** Called after each successful append (metrics, logs); must not throw. */
export type AuditObserver = (event: AuditEvent) => void;

export const AUDIT_LOG = Symbol('AuditLog');
