import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JsonLogger } from '@leash/core';
import { JobName, MAINTENANCE_QUEUE, type ProviderFollowUpJob } from '@leash/contracts';
import type { Reconcile, RunProviderFollowUp } from '@leash/broker';

/**
 * The maintenance queue: the periodic reconciler as a BullMQ job scheduler (one run at a time
 * across all workers), and delayed provider follow-ups (e.g. pruning the AWS deny policy).
 */
export async function startReconciler(
  reconcile: Reconcile,
  followUp: RunProviderFollowUp,
  connections: { queue: Redis; worker: Redis },
  options: { prefix: string; intervalMs: number },
  logger: JsonLogger,
): Promise<{ queue: Queue; worker: Worker }> {
  const prefix = `${options.prefix}:bull`;
  const queue = new Queue(MAINTENANCE_QUEUE, {
    connection: connections.queue,
    prefix,
  });
  queue.on('error', (err) => logger.warn('maintenance queue error', { err: err.message }));
  await queue.upsertJobScheduler(
    JobName.Reconcile,
    { every: options.intervalMs },
    {
      name: JobName.Reconcile,
      opts: { removeOnComplete: true, removeOnFail: 100 },
    },
  );
  const worker = new Worker(
    MAINTENANCE_QUEUE,
    async (job: Job) => {
      if (job.name === JobName.ProviderFollowUp) {
        const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        return followUp.execute(job.data as ProviderFollowUpJob, final);
      }
      const report = await reconcile.execute();
      return report;
    },
    { connection: connections.worker, prefix, concurrency: 1 },
  );
  worker.on('error', (err) => logger.warn('reconciler worker error', { err: err.message }));
  worker.on('failed', (job, err) => logger.warn('maintenance job failed', { job: job?.name, err: err.message }));
  return { queue, worker };
}
