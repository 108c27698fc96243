import { DelayedError, Worker, type Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { CoreError, CoreErrorCode, type JsonLogger } from '@leash/core';
import { JobName, REVOCATION_QUEUE, type RevokeLeaseJob } from '@leash/contracts';
import { inSpanFrom, type HandOverDueRevocations, type RevokeLease } from '@leash/broker';

const REVOCATION_LOCK_MS = 5000;

/**
 * Runs revoke-lease jobs: at expiry (delayed jobs the hand-over or, for short leases, the claim
 * created; per-lease jobs of earlier versions too), early revocations the API handed over, and
 * reconciler finds; and the periodic hand-over itself (its own job scheduler on this queue, so
 * maintenance work never delays it).
 */
export function startRevocationWorker(
  revokeLease: RevokeLease,
  handOver: HandOverDueRevocations,
  connection: Redis | Cluster,
  options: { prefix: string; concurrency: number },
  logger: JsonLogger,
): Worker<RevokeLeaseJob> {
  const worker = new Worker<RevokeLeaseJob>(
    REVOCATION_QUEUE,
    async (job: Job<RevokeLeaseJob>, token?: string) => {
      if (job.name === JobName.HandOverDue) {
        return handOver.execute();
      }
      const attempts = job.opts.attempts ?? 1;
      const final = job.attemptsMade + 1 >= attempts;
      try {
        const attributes = { 'leash.lease_id': job.data.leaseId, 'leash.revoke_reason': job.data.reason };
        const result = await inSpanFrom(job.data.trace, 'leash.worker.revoke', attributes, () =>
          revokeLease.execute({
            leaseId: job.data.leaseId,
            reason: job.data.reason,
            actor: { id: job.data.actor, channel: 'system' },
            final,
          }),
        );
        if (result.outcome === 'retry') {
          // Throwing hands the job back to BullMQ's exponential backoff.
          throw new Error(`revocation of ${job.data.leaseId} failed: ${result.error}`);
        }
        if (result.outcome === 'not_due') {
          // Early on this worker's clock (its offset to Redis TIME differs from the one the job was
          // timed with): back to delayed until the expiry, not dropped. Completed, it would leave the
          // lease to the reconciler's overdue scan, a reconcile period late and recorded as 'reconciler'.
          await job.moveToDelayed(Date.now() + Math.max(1, result.dueInMs), token);
          throw new DelayedError();
        }
        if (result.outcome === 'revoked') {
          logger.debug('lease revoked', {
            leaseId: job.data.leaseId,
            lagMs: result.lagMs,
          });
        }
        return result.outcome;
      } catch (err) {
        if (err instanceof CoreError && err.code === CoreErrorCode.NotFound) {
          return 'missing';
        }
        throw err;
      }
    },
    {
      connection,
      prefix: `${options.prefix}:bull`,
      concurrency: options.concurrency,
      // A job held by a worker that died is handed to another after at most ~2 × 5 s, not BullMQ's
      // default 30 s lock plus 30 s check: SPEC §9 allows a lease to outlive its expiry by 5 s after a
      // worker restart. Running jobs renew their lock every 2.5 s, so slow provider calls are not affected.
      lockDuration: REVOCATION_LOCK_MS,
      stalledInterval: REVOCATION_LOCK_MS,
    },
  );
  worker.on('error', (err) => logger.warn('revocation worker error', { err: err.message }));
  worker.on('failed', (job, err) =>
    logger.warn('revocation job attempt failed', {
      leaseId: job?.data.leaseId,
      attempt: job?.attemptsMade,
      err: err.message,
    }),
  );
  return worker;
}
