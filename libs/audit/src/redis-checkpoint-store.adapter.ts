import type { Cluster, Redis } from 'ioredis';
import type { AuditCheckpoint, CheckpointStore } from './audit-checkpoint';
import { AuditError } from './audit.errors';

const KEEP = 10_000;

/** Checkpoints in a Redis list, newest first. */
export class RedisCheckpointStore implements CheckpointStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  private get key(): string {
    return `${this.prefix}:audit:checkpoints`;
  }

  async add(checkpoint: AuditCheckpoint): Promise<void> {
    await this.guard(
      this.redis
        .multi()
        .lpush(this.key, JSON.stringify(checkpoint))
        .ltrim(this.key, 0, KEEP - 1)
        .exec(),
    );
  }

  async list(limit: number): Promise<AuditCheckpoint[]> {
    const rows = await this.guard(this.redis.lrange(this.key, 0, limit - 1));
    return rows.map((r) => JSON.parse(r) as AuditCheckpoint);
  }

  private async guard<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (cause) {
      throw new AuditError('the audit checkpoints (Redis) are unavailable', { cause });
    }
  }
}
