/** Queue and job names shared by the API (producer) and the worker (consumer). */
export const REVOCATION_QUEUE = 'leash-revocations';
export const MAINTENANCE_QUEUE = 'leash-maintenance';

export const JobName = {
  RevokeLease: 'revoke-lease',
  Reconcile: 'reconcile',
} as const;

export type RevokeReason = 'expired' | 'early' | 'session' | 'reconciler';

export interface RevokeLeaseJob {
  leaseId: string;
  reason: RevokeReason;
  actor: string;
}
