import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { JsonLogger } from '@leash/core';
import { JobName, REVOCATION_QUEUE } from '@leash/contracts';
import { HAND_OVER_EVERY_MS } from '@leash/broker';

/**
 * The hand-over of due leases to revocation jobs runs as a BullMQ job scheduler on the revocation
 * queue (one job per interval across all workers). A wiped or replaced Redis loses the scheduler;
 * the running worker puts it back.
 */
export async function startHandOverScheduler(
  connection: Redis | Cluster,
  options: { prefix: string; checkMs: number },
  logger: JsonLogger,
): Promise<{ queue: Queue; watch: NodeJS.Timeout }> {
  const queue = new Queue(REVOCATION_QUEUE, { connection, prefix: `${options.prefix}:bull` });
  queue.on('error', (err) => logger.warn('revocation queue error', { err: err.message }));
  const schedule = () =>
    queue.upsertJobScheduler(
      JobName.HandOverDue,
      { every: HAND_OVER_EVERY_MS },
      { name: JobName.HandOverDue, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
  await schedule();
  const watch = setInterval(() => {
    void (async () => {
      if (!(await queue.getJobScheduler(JobName.HandOverDue))) {
        await schedule();
        logger.error('job scheduler was missing in Redis and is re-created', { scheduler: JobName.HandOverDue });
      }
    })().catch(() => undefined);
  }, options.checkMs);
  watch.unref();
  return { queue, watch };
}
