import type { ProviderFollowUpJob, RevokeReason } from '@leash/contracts';

/** Schedules revocation jobs for the worker. */
export interface RevocationScheduler {
  /** A delayed job (jobId = lease id) that revokes the lease at its expiry. */
  scheduleAtExpiry(leaseId: string, expiresAt: number, now: number): Promise<void>;
  /**
   * Delayed jobs (jobId = lease id) for leases handed over from the expiry index shortly before they
   * are due; a lease that already has a job keeps it (adding is idempotent).
   */
  scheduleDue(leases: { id: string; expiresAt: number; trace?: Record<string, string> }[], now: number): Promise<void>;
  /** Removes the delayed job after an early revocation; a job already running is left to finish. */
  cancel(leaseId: string): Promise<void>;
  /** Runs a revocation as soon as possible (retries, overdue leases, quarantined leases). */
  revokeSoon(leaseId: string, reason: RevokeReason): Promise<void>;
  /** Adds a job for a lease that has none waiting (a missed or deleted job); leaves existing jobs alone. */
  ensureScheduled(leaseId: string, reason: RevokeReason): Promise<void>;
  /** A delayed maintenance job that runs a provider's follow-up at `at` (idempotent per key and time). */
  scheduleFollowUp(job: ProviderFollowUpJob, at: number, now: number): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const REVOCATION_SCHEDULER = Symbol('RevocationScheduler');
