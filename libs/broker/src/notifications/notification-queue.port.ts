import type { NotifyJob } from '@leash/contracts';

/** Hands notifier work to the worker (BullMQ), so a slow or failing Slack never blocks a request. */
export interface NotificationQueue {
  enqueue(job: NotifyJob): Promise<void>;
  close(): Promise<void>;
}

export const NOTIFICATION_QUEUE = Symbol('NotificationQueue');
