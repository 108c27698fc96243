/** Queue and job names shared by the API (producer) and the worker (consumer). */
export const REVOCATION_QUEUE = 'leash-revocations';
export const MAINTENANCE_QUEUE = 'leash-maintenance';
export const NOTIFICATIONS_QUEUE = 'leash-notifications';
export const AUDIT_EXPORT_QUEUE = 'leash-audit-export';

export const JobName = {
  RevokeLease: 'revoke-lease',
  /** Moves leases due within the next seconds from the expiry index into revoke-lease jobs (revocation queue). */
  HandOverDue: 'hand-over-due',
  Reconcile: 'reconcile',
  /** Provider maintenance after a revocation (e.g. pruning the AWS deny policy), on the maintenance queue. */
  ProviderFollowUp: 'provider-follow-up',
  Notify: 'notify',
  SweepIdentities: 'sweep-identities',
  AuditCheckpoint: 'audit-checkpoint',
  AuditDispatch: 'audit-dispatch',
  AuditExport: 'audit-export',
} as const;

export interface AuditExportJob {
  sink: string;
  /** Deliver events after this seq. */
  after: number;
}

/** `not_replicated`: the claim's lease record was not acknowledged by LEASH_REDIS_MIN_REPLICAS replicas in time. */
export type RevokeReason = 'expired' | 'early' | 'session' | 'reconciler' | 'break_glass' | 'not_replicated';

export interface RevokeLeaseJob {
  leaseId: string;
  reason: RevokeReason;
  actor: string;
  /** W3C trace context (`traceparent`) of the issuance, when traces are exported. */
  trace?: Record<string, string>;
}

export interface ProviderFollowUpJob {
  provider: 'jwt' | 'aws' | 'gcp' | 'kubernetes';
  key: string;
  data: Record<string, unknown>;
}
/**
 * Work for an approval notifier, run by the worker. `broadcast` posts the request's message once;
 * `update` re-renders it from the request's current state; `ephemeral` tells one Slack user why a click
 * was refused.
 */
export type NotifyJob =
  | { kind: 'broadcast' | 'update'; notifier: string; requestId: string }
  | { kind: 'ephemeral'; notifier: string; channel: string; user: string; text: string; requestId?: string };
