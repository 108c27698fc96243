import { z } from 'zod';

/** Where Redis is and how to reach it; one shape for the API, the worker and BullMQ. */
export type RedisConfig = {
  /**
   * Key prefix with a hash tag (`{leash}`): every key Leash and BullMQ use starts with it, so all of
   * them hash to one Redis Cluster slot and every multi-key script and queue stays on one node.
   */
  prefix: string;
  /** Replicas that must acknowledge a lease record (WAIT) before its credential is returned; 0 = off. */
  minReplicas: number;
  /** How long a claim waits for those acknowledgements before it revokes the credential and answers 503. */
  replicaTimeoutMs: number;
} & RedisTopology;

export type RedisTopology =
  | { mode: 'standalone'; url: string; tlsCaFile?: string }
  | { mode: 'sentinel'; sentinels: RedisNode[]; masterName: string; sentinelPassword?: string; auth: RedisAuth }
  | { mode: 'cluster'; nodes: RedisNode[]; auth: RedisAuth };

export interface RedisNode {
  host: string;
  port: number;
}

/** Credentials and TLS of the data nodes in sentinel and cluster modes (standalone takes them from the URL). */
export interface RedisAuth {
  username?: string;
  password?: string;
  tls: boolean;
  /** PEM file of the CA that signed the Redis servers' certificates (default: the system store). */
  tlsCaFile?: string;
}

/** Redis variables that are secrets: never printed, even in validation errors. */
export const REDIS_SENSITIVE = ['LEASH_REDIS_URL', 'LEASH_REDIS_PASSWORD', 'LEASH_REDIS_SENTINEL_PASSWORD'];

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

const nodeList = z.string().transform((value, ctx): RedisNode[] => {
  const parts = value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const nodes: RedisNode[] = [];
  for (const part of parts) {
    const match = HOST_PORT.exec(part);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${part}" is not host:port (comma-separated list expected)` });
      return z.NEVER;
    }
    nodes.push({ host: match[1].replace(/^\[|\]$/g, ''), port });
  }
  if (nodes.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must list at least one host:port' });
    return z.NEVER;
  }
  return nodes;
});

export const redisShape = {
  LEASH_REDIS_MODE: z.enum(['standalone', 'sentinel', 'cluster']).default('standalone'),
  LEASH_REDIS_URL: z
    .string()
    .url()
    .refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  LEASH_REDIS_SENTINELS: nodeList.optional(),
  LEASH_REDIS_SENTINEL_MASTER: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be the master name the sentinels monitor')
    .optional(),
  LEASH_REDIS_SENTINEL_PASSWORD: z.string().min(1).max(512).optional(),
  LEASH_REDIS_CLUSTER_NODES: nodeList.optional(),
  LEASH_REDIS_USERNAME: z.string().min(1).max(256).optional(),
  LEASH_REDIS_PASSWORD: z.string().min(1).max(512).optional(),
  LEASH_REDIS_TLS: flag.default(false),
  LEASH_REDIS_TLS_CA: z.string().min(1).optional(),
  LEASH_REDIS_PREFIX: z
    .string()
    .regex(
      /^(\{[A-Za-z0-9_-]{1,30}\}|[A-Za-z0-9_-]{1,30})$/,
      'must be a name (letters, digits, _ and -, at most 30), optionally in braces; it is used as the hash tag {name}',
    )
    .default('leash'),
  LEASH_REDIS_MIN_REPLICAS: z.coerce.number().int().min(0).max(16).default(0),
  LEASH_REDIS_REPLICA_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(2000),
};

type RedisEnv = z.infer<z.ZodObject<typeof redisShape>>;

/** Conditional requirements of the topology variables, each naming the variable that is wrong. */
export function redisRefinement(e: Partial<RedisEnv>, ctx: z.RefinementCtx): void {
  const require = (name: keyof RedisEnv, why: string): void => {
    if (e[name] === undefined) {
      ctx.addIssue({ code: 'custom', path: [name], message: `is required when ${why}` });
    }
  };
  const refuse = (name: keyof RedisEnv, why: string): void => {
    if (e[name] !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `is only used when ${why}; unset it or fix LEASH_REDIS_MODE`,
      });
    }
  };
  const mode = e.LEASH_REDIS_MODE ?? 'standalone';
  if (mode === 'sentinel') {
    require('LEASH_REDIS_SENTINELS', 'LEASH_REDIS_MODE=sentinel (host:port of each sentinel)');
    require('LEASH_REDIS_SENTINEL_MASTER', 'LEASH_REDIS_MODE=sentinel (the monitored master name)');
  } else {
    refuse('LEASH_REDIS_SENTINELS', 'LEASH_REDIS_MODE=sentinel');
    refuse('LEASH_REDIS_SENTINEL_MASTER', 'LEASH_REDIS_MODE=sentinel');
    refuse('LEASH_REDIS_SENTINEL_PASSWORD', 'LEASH_REDIS_MODE=sentinel');
  }
  if (mode === 'cluster') {
    require('LEASH_REDIS_CLUSTER_NODES', 'LEASH_REDIS_MODE=cluster (host:port of one or more cluster nodes)');
  } else {
    refuse('LEASH_REDIS_CLUSTER_NODES', 'LEASH_REDIS_MODE=cluster');
  }
  if (mode === 'standalone') {
    // In standalone mode the URL carries user, password and TLS (rediss://); two sources would disagree.
    for (const name of ['LEASH_REDIS_USERNAME', 'LEASH_REDIS_PASSWORD'] as const) {
      refuse(name, 'LEASH_REDIS_MODE is sentinel or cluster (standalone: put it in LEASH_REDIS_URL)');
    }
    const tlsUrl = (e.LEASH_REDIS_URL ?? '').startsWith('rediss://');
    if (!tlsUrl && (e.LEASH_REDIS_TLS === true || e.LEASH_REDIS_TLS_CA !== undefined)) {
      const name = e.LEASH_REDIS_TLS === true ? 'LEASH_REDIS_TLS' : 'LEASH_REDIS_TLS_CA';
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: 'asks for TLS but LEASH_REDIS_URL is redis://; use a rediss:// URL in standalone mode',
      });
    }
  }
}

export function redisConfig(e: RedisEnv): RedisConfig {
  const name = e.LEASH_REDIS_PREFIX.replace(/^\{|\}$/g, '');
  const common = {
    prefix: `{${name}}`,
    minReplicas: e.LEASH_REDIS_MIN_REPLICAS,
    replicaTimeoutMs: e.LEASH_REDIS_REPLICA_TIMEOUT_MS,
  };
  const auth: RedisAuth = {
    ...(e.LEASH_REDIS_USERNAME !== undefined ? { username: e.LEASH_REDIS_USERNAME } : {}),
    ...(e.LEASH_REDIS_PASSWORD !== undefined ? { password: e.LEASH_REDIS_PASSWORD } : {}),
    tls: e.LEASH_REDIS_TLS || e.LEASH_REDIS_TLS_CA !== undefined,
    ...(e.LEASH_REDIS_TLS_CA !== undefined ? { tlsCaFile: e.LEASH_REDIS_TLS_CA } : {}),
  };
  switch (e.LEASH_REDIS_MODE) {
    case 'sentinel':
      return {
        ...common,
        mode: 'sentinel',
        sentinels: e.LEASH_REDIS_SENTINELS ?? [],
        masterName: e.LEASH_REDIS_SENTINEL_MASTER ?? '',
        ...(e.LEASH_REDIS_SENTINEL_PASSWORD !== undefined ? { sentinelPassword: e.LEASH_REDIS_SENTINEL_PASSWORD } : {}),
        auth,
      };
    case 'cluster':
      return { ...common, mode: 'cluster', nodes: e.LEASH_REDIS_CLUSTER_NODES ?? [], auth };
    case 'standalone':
      return {
        ...common,
        mode: 'standalone',
        url: e.LEASH_REDIS_URL,
        ...(e.LEASH_REDIS_TLS_CA !== undefined ? { tlsCaFile: e.LEASH_REDIS_TLS_CA } : {}),
      };
  }
}
