import type { Cluster, Redis } from 'ioredis';
import type { MessageRef, MessageRefStore } from './approval-notifier.port';

/** Message references in a Redis hash per request (field = notifier), kept as long as requests are. */
export class RedisMessageRefStore implements MessageRefStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
    private readonly retentionSeconds: number,
  ) {}

  private key(requestId: string): string {
    return `${this.prefix}:req:${requestId}:messages`;
  }

  async get(requestId: string, notifier: string): Promise<MessageRef[]> {
    const raw = await this.redis.hget(this.key(requestId), notifier);
    return raw ? (JSON.parse(raw) as MessageRef[]) : [];
  }

  async put(requestId: string, notifier: string, refs: MessageRef[]): Promise<void> {
    await this.redis
      .multi()
      .hset(this.key(requestId), notifier, JSON.stringify(refs))
      .expire(this.key(requestId), this.retentionSeconds)
      .exec();
  }
}
