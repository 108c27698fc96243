import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { ProviderLock } from './provider-lock.port';
import { ProviderError, ProviderErrorCode } from './provider.errors';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/** Redis lock (SET NX PX with an owner token; released only by its owner). */
export class RedisProviderLock implements ProviderLock {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
    private readonly options: { leaseMs: number; waitMs: number; stepMs: number } = {
      leaseMs: 30_000,
      waitMs: 15_000,
      stepMs: 50,
    },
  ) {}

  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const name = `${this.prefix}:provider-lock:${key}`;
    const token = randomBytes(12).toString('hex');
    const deadline = Date.now() + this.options.waitMs;
    for (;;) {
      let taken: string | null;
      try {
        taken = await this.redis.set(name, token, 'PX', this.options.leaseMs, 'NX');
      } catch (cause) {
        throw new ProviderError(ProviderErrorCode.Retryable, 'leash', 'LockUnavailable', 'lock store unavailable', {
          cause,
        });
      }
      if (taken === 'OK') {
        break;
      }
      if (Date.now() > deadline) {
        throw new ProviderError(ProviderErrorCode.Retryable, 'leash', 'LockBusy', `lock ${key} is busy`);
      }
      await new Promise((resolve) => setTimeout(resolve, this.options.stepMs));
    }
    try {
      return await fn();
    } finally {
      await this.redis.eval(RELEASE, 1, name, token).catch(() => undefined);
    }
  }
}
