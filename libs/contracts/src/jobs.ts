/** Queue and job names shared by the API (producer) and the worker (consumer). */
export const REVOCATION_QUEUE = 'leash-revocations';
export const MAINTENANCE_QUEUE = 'leash-maintenance';

export const JobName = {
  RevokeLease: 'revoke-lease',
  Reconcile: 'reconcile',
  /** Provider maintenance after a revocation (e.g. pruning the AWS deny policy), on the maintenance queue. */
  ProviderFollowUp: 'provider-follow-up',
} as const;

export type RevokeReason = 'expired' | 'early' | 'session' | 'reconciler';

export interface RevokeLeaseJob {
  leaseId: string;
  reason: RevokeReason;
  actor: string;
}

export interface ProviderFollowUpJob {
  provider: 'jwt' | 'aws' | 'gcp' | 'kubernetes';
  key: string;
  data: Record<string, unknown>;
}
