import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisAuth, RedisConfig } from '@leash/config';

/** A connection to Leash's Redis, whatever the topology (ioredis follows MOVED/ASK on Cluster). */
export type RedisClient = Redis | Cluster;

/** Options callers may change per connection (BullMQ's blocking connections need other ones). */
export type RedisClientOverrides = Pick<
  RedisOptions,
  'enableOfflineQueue' | 'maxRetriesPerRequest' | 'commandTimeout' | 'enableAutoPipelining'
>;

const BASE = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  commandTimeout: 5000,
} satisfies RedisOptions;

const retryStrategy = (times: number): number => Math.min(100 * times, 1000);

/**
 * The one place Redis connections are made (API, worker, BullMQ), for standalone, Sentinel and
 * Cluster. By default it fails fast while Redis is unreachable (no offline queue), so the API
 * answers 503 at once instead of hanging, and reconnects in the background.
 */
export function createRedisClient(config: RedisConfig, overrides: RedisClientOverrides = {}): RedisClient {
  const client = connect(config, { ...BASE, ...overrides });
  client.on('error', () => undefined);
  return client;
}

function connect(config: RedisConfig, options: RedisOptions): RedisClient {
  switch (config.mode) {
    case 'standalone':
      return new Redis(config.url, {
        ...options,
        retryStrategy,
        ...(config.tlsCaFile !== undefined && config.url.startsWith('rediss://')
          ? { tls: { ca: readFileSync(config.tlsCaFile) } }
          : {}),
      });
    case 'sentinel':
      return new Redis({
        ...options,
        ...nodeAuth(config.auth),
        sentinels: config.sentinels,
        name: config.masterName,
        role: 'master',
        ...(config.sentinelPassword !== undefined ? { sentinelPassword: config.sentinelPassword } : {}),
        ...(config.auth.tls ? { enableTLSForSentinelMode: true, sentinelTLS: tlsOptions(config.auth) } : {}),
        // No ioredis failover detector: its sentinel subscriptions outlive the connection that made
        // them, and a +switch-master arriving while the client reconnects (each sentinel announces
        // it, up to a second apart) aborts that reconnect and ends the client for good ("Connection
        // is closed" on every later command). Redis itself closes every client connection when a
        // master is demoted or dies, and a demoted master's READONLY reconnects below.
        failoverDetector: false,
        sentinelRetryStrategy: retryStrategy,
        retryStrategy,
        // A demoted master answers READONLY: reconnect (asks the sentinels again) and resend.
        reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
      });
    case 'cluster': {
      // No auto-pipelining on a Cluster: a batch caught by a slot move (MOVED/ASK) is a risk not worth the gain.
      const { enableOfflineQueue, enableAutoPipelining: _autoPipelining, ...redisOptions } = options;
      return new Cluster(config.nodes, {
        enableOfflineQueue,
        // Every key is hash-tagged into one slot, so reads stay on that slot's master too.
        scaleReads: 'master',
        maxRedirections: 16,
        retryDelayOnMoved: 0,
        retryDelayOnTryAgain: 100,
        retryDelayOnClusterDown: 200,
        retryDelayOnFailover: 200,
        slotsRefreshTimeout: 2000,
        clusterRetryStrategy: retryStrategy,
        redisOptions: { ...redisOptions, ...nodeAuth(config.auth) },
      });
    }
  }
}

function nodeAuth(auth: RedisAuth): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  return {
    ...(auth.username !== undefined ? { username: auth.username } : {}),
    ...(auth.password !== undefined ? { password: auth.password } : {}),
    ...(auth.tls ? { tls: tlsOptions(auth) } : {}),
  };
}

function tlsOptions(auth: RedisAuth): ConnectionOptions {
  return auth.tlsCaFile !== undefined ? { ca: readFileSync(auth.tlsCaFile) } : {};
}

/** Whether `client` talks to a Redis Cluster. */
export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster;
}
