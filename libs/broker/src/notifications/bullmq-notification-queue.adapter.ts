import type { Cluster, Redis } from 'ioredis';
import { JobName, NOTIFICATIONS_QUEUE, type NotifyJob } from '@leash/contracts';
import { RebuildingQueue } from '../infrastructure/rebuilding-queue.adapter';
import type { NotificationQueue } from './notification-queue.port';

export interface NotificationQueueOptions {
  attempts: number;
  backoffMs: number;
  prefix: string;
}

/** BullMQ producer of notifier jobs; a failed queue (Redis down at set-up) is rebuilt on next use. */
export class BullmqNotificationQueue implements NotificationQueue {
  private readonly queue: RebuildingQueue<NotifyJob>;

  constructor(
    connect: () => Redis | Cluster,
    private readonly options: NotificationQueueOptions,
  ) {
    this.queue = new RebuildingQueue<NotifyJob>(NOTIFICATIONS_QUEUE, connect, options.prefix);
  }

  async enqueue(job: NotifyJob): Promise<void> {
    await this.queue.use((queue) =>
      queue.add(JobName.Notify, job, {
        // One post per request and notifier while that job exists (ids must not contain ':').
        ...(job.kind === 'broadcast' ? { jobId: `post.${job.notifier}.${job.requestId}` } : {}),
        attempts: this.options.attempts,
        backoff: { type: 'exponential', delay: this.options.backoffMs },
        removeOnComplete: true,
        removeOnFail: 1000,
      }),
    );
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
