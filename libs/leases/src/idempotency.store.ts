import type { Cluster, Redis } from 'ioredis';
import { LeaseError, LeaseErrorCode } from './lease.errors';

export type IdempotencyClaim =
  | { state: 'new' }
  | { state: 'in_progress' }
  | { state: 'mismatch' }
  | { state: 'replay'; status: number; body: unknown };

const TTL_SECONDS = 24 * 3600;

/** Remembers the outcome of mutating calls per (principal, Idempotency-Key) for 24 hours. */
export class IdempotencyStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  private key(scope: string, key: string): string {
    return `${this.prefix}:idem:${scope}:${key}`;
  }

  async claim(scope: string, key: string, fingerprint: string): Promise<IdempotencyClaim> {
    try {
      const k = this.key(scope, key);
      const set = await this.redis.set(k, JSON.stringify({ fingerprint }), 'EX', TTL_SECONDS, 'NX');
      if (set === 'OK') {
        return { state: 'new' };
      }
      const stored = JSON.parse((await this.redis.get(k)) ?? '{}') as {
        fingerprint?: string;
        status?: number;
        body?: unknown;
      };
      if (stored.fingerprint !== fingerprint) {
        return { state: 'mismatch' };
      }
      return stored.status === undefined
        ? { state: 'in_progress' }
        : { state: 'replay', status: stored.status, body: stored.body };
    } catch (cause) {
      throw new LeaseError(LeaseErrorCode.StoreUnavailable, 'the idempotency store (Redis) is unavailable', { cause });
    }
  }

  async complete(scope: string, key: string, fingerprint: string, status: number, body: unknown): Promise<void> {
    await this.redis
      .set(this.key(scope, key), JSON.stringify({ fingerprint, status, body }), 'EX', TTL_SECONDS)
      .catch(() => undefined);
  }

  async release(scope: string, key: string): Promise<void> {
    await this.redis.del(this.key(scope, key)).catch(() => undefined);
  }
}
