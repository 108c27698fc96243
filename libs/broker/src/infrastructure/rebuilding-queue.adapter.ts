import type * as Bullmq from 'bullmq';
import type { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';

/**
 * A BullMQ producer queue that is dropped and rebuilt on next use after a failed call: BullMQ's
 * connection set-up fails for good when Redis is down at that moment.
 */
export class RebuildingQueue<T> {
  private current?: Queue<T>;

  constructor(
    private readonly name: string,
    private readonly connect: () => Redis | Cluster,
    private readonly prefix: string,
  ) {}

  private get queue(): Queue<T> {
    if (!this.current) {
      // BullMQ is loaded by the first job this process queues, not at start (it was ~7 % of the API's module
      // loading; the worker, which runs the queues, loads it at start). A failure to load fails that call.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { Queue: BullQueue } = require('bullmq') as typeof Bullmq;
      const queue = new BullQueue<T>(this.name, {
        connection: this.connect(),
        prefix: `${this.prefix}:bull`,
        skipWaitingForReady: true,
      });
      queue.on('error', () => undefined);
      this.current = queue;
    }
    return this.current;
  }

  /** Runs `op` on the queue; on failure the queue is discarded (rebuilt next time) and the error rethrown. */
  async use<R>(op: (queue: Queue<T>) => Promise<R>): Promise<R> {
    const queue = this.queue;
    try {
      return await op(queue);
    } catch (err) {
      if (this.current === queue) {
        this.current = undefined;
        void queue.close().catch(() => undefined);
        void queue.disconnect().catch(() => undefined);
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.current?.close();
  }
}
