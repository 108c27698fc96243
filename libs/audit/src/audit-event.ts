import type { Channel, Decision, RiskLevel } from '@leash/core';

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
  | 'slack.interaction_refused'
  | 'policy.reloaded'
  | 'policy.reload_failed'
  | 'identity.swept';

/**
 * One audit event. `seq`, `prevHash` and `hash` are assigned by the log on append, so the
 * hash chain (canonical event + previous hash) can be added without changing producers.
 */
export interface AuditEvent {
  seq?: string;
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
  providerRef?: Record<string, string>;
  details?: Record<string, unknown>;
  prevHash?: string;
  hash?: string;
}

/** Append-only audit log. */
export interface AuditLog {
  append(
    event: Omit<AuditEvent, 'seq' | 'time' | 'prevHash' | 'hash'> & {
      time?: string;
    },
  ): Promise<void>;
  list(options: { limit: number; requestId?: string; leaseId?: string }): Promise<AuditEvent[]>;
}

export const AUDIT_LOG = Symbol('AuditLog');
