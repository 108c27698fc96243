import { Redis, type RedisOptions } from 'ioredis';

/**
 * Redis client that fails fast while Redis is unreachable (no offline queue), so the API answers
 * 503 at once instead of hanging, and reconnects in the background.
 */
export function createRedisClient(url: string, overrides: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 5000,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    ...overrides,
  });
  client.on('error', () => undefined);
  return client;
}
