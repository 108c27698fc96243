import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { JsonLogger } from '@leash/core';
import { NOTIFICATIONS_QUEUE, type NotifyJob } from '@leash/contracts';
import type { DeliverNotification } from '@leash/broker';

/**
 * Runs approval-notifier jobs (Slack posts, updates, ephemeral replies). A 429 moves the job back to
 * the delayed set for exactly Retry-After (not counted as an attempt); outages retry with backoff;
 * permanent refusals stop retrying. None of it touches the request flow.
 */
export function startNotificationWorker(
  deliver: DeliverNotification,
  connection: Redis | Cluster,
  options: { prefix: string; concurrency: number },
  logger: JsonLogger,
): Worker<NotifyJob> {
  const worker = new Worker<NotifyJob>(
    NOTIFICATIONS_QUEUE,
    async (job: Job<NotifyJob>, token?: string) => {
      const result = await deliver.execute(job.data);
      switch (result.outcome) {
        case 'delivered':
        case 'skipped':
          return result.outcome;
        case 'retry_after':
          logger.warn('notifier rate limited; waiting for Retry-After', {
            kind: job.data.kind,
            notifier: job.data.notifier,
            delayMs: result.delayMs,
          });
          await job.moveToDelayed(Date.now() + result.delayMs, token);
          throw new DelayedError();
        case 'retry':
          throw new Error(result.error);
        case 'give_up':
          throw new UnrecoverableError(result.error);
        default:
          return result satisfies never;
      }
    },
    { connection, prefix: `${options.prefix}:bull`, concurrency: options.concurrency },
  );
  worker.on('error', (err) => logger.warn('notification worker error', { err: err.message }));
  worker.on('failed', (job, err) =>
    logger.warn('notification job attempt failed', {
      kind: job?.data.kind,
      notifier: job?.data.notifier,
      attempt: job?.attemptsMade,
      err: err.message,
    }),
  );
  return worker;
}
