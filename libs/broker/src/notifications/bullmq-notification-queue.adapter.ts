import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { JobName, NOTIFICATIONS_QUEUE, type NotifyJob } from '@leash/contracts';
import type { NotificationQueue } from './notification-queue.port';

export interface NotificationQueueOptions {
  attempts: number;
  backoffMs: number;
  prefix: string;
}

/** BullMQ producer of notifier jobs; a failed queue (Redis down at set-up) is rebuilt on next use. */
export class BullmqNotificationQueue implements NotificationQueue {
  private current?: Queue<NotifyJob>;

  constructor(
    private readonly connect: () => Redis,
    private readonly options: NotificationQueueOptions,
  ) {}

  private get queue(): Queue<NotifyJob> {
    if (!this.current) {
      const queue = new Queue<NotifyJob>(NOTIFICATIONS_QUEUE, {
        connection: this.connect(),
        prefix: `${this.options.prefix}:bull`,
        skipWaitingForReady: true,
      });
      queue.on('error', () => undefined);
      this.current = queue;
    }
    return this.current;
  }

  async enqueue(job: NotifyJob): Promise<void> {
    const queue = this.queue;
    try {
      await queue.add(JobName.Notify, job, {
        // One post per request and notifier while that job exists (ids must not contain ':').
        ...(job.kind === 'broadcast' ? { jobId: `post.${job.notifier}.${job.requestId}` } : {}),
        attempts: this.options.attempts,
        backoff: { type: 'exponential', delay: this.options.backoffMs },
        removeOnComplete: true,
        removeOnFail: 1000,
      });
    } catch (err) {
      if (this.current === queue) {
        this.current = undefined;
        void queue.close().catch(() => undefined);
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.current?.close();
  }
}
