import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JsonLogger } from '@leash/core';
import { JobName, MAINTENANCE_QUEUE, type ProviderFollowUpJob } from '@leash/contracts';
import type { Reconcile, RunProviderFollowUp, SweepOrphanedIdentities } from '@leash/broker';

/**
 * The maintenance queue: periodic jobs as BullMQ job schedulers (one run at a time across all
 * workers) — the reconciler and the orphaned-identity sweep — and delayed provider follow-ups
 * (e.g. pruning the AWS deny policy).
 */
export async function startReconciler(
  jobs: { reconcile: Reconcile; followUp: RunProviderFollowUp; sweep: SweepOrphanedIdentities },
  connections: { queue: Redis; worker: Redis },
  options: { prefix: string; intervalMs: number; sweepIntervalMs: number },
  logger: JsonLogger,
): Promise<{ queue: Queue; worker: Worker }> {
  const prefix = `${options.prefix}:bull`;
  const queue = new Queue(MAINTENANCE_QUEUE, {
    connection: connections.queue,
    prefix,
  });
  queue.on('error', (err) => logger.warn('maintenance queue error', { err: err.message }));
  const opts = { removeOnComplete: true, removeOnFail: 100 };
  await queue.upsertJobScheduler(JobName.Reconcile, { every: options.intervalMs }, { name: JobName.Reconcile, opts });
  await queue.upsertJobScheduler(
    JobName.SweepIdentities,
    { every: options.sweepIntervalMs },
    { name: JobName.SweepIdentities, opts },
  );
  const worker = new Worker(
    MAINTENANCE_QUEUE,
    async (job: Job) => {
      if (job.name === JobName.ProviderFollowUp) {
        const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        return jobs.followUp.execute(job.data as ProviderFollowUpJob, final);
      }
      if (job.name === JobName.SweepIdentities) {
        return jobs.sweep.execute();
      }
      return jobs.reconcile.execute();
    },
    { connection: connections.worker, prefix, concurrency: 1 },
  );
  worker.on('error', (err) => logger.warn('reconciler worker error', { err: err.message }));
  worker.on('failed', (job, err) => logger.warn('maintenance job failed', { job: job?.name, err: err.message }));
  return { queue, worker };
}
