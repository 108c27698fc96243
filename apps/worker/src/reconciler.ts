import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JsonLogger } from '@leash/core';
import { JobName, MAINTENANCE_QUEUE } from '@leash/contracts';
import type { Reconcile } from '@leash/broker';

/** Periodic reconciler as a BullMQ job scheduler (one run at a time across all workers). */
export async function startReconciler(
  reconcile: Reconcile,
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
    async () => {
      const report = await reconcile.execute();
      return report;
    },
    { connection: connections.worker, prefix, concurrency: 1 },
  );
  worker.on('error', (err) => logger.warn('reconciler worker error', { err: err.message }));
  worker.on('failed', (_job, err) => logger.warn('reconciler run failed', { err: err.message }));
  return { queue, worker };
}
