import { ConfigError } from './config.errors';
import { loadApiConfig, loadWorkerConfig } from './leash.config';

const base = { LEASH_POLICY: '/etc/leash/policy.yaml' };

function problems(env: Record<string, string>): string {
  try {
    loadApiConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) {
      return err.problems.join('\n');
    }
    throw err;
  }
  return '';
}

describe('Redis topology configuration', () => {
  const sut = loadApiConfig;

  it('defaults to standalone on the local Redis with the hash-tagged prefix {leash}', () => {
    expect(sut(base).redis).toEqual({
      mode: 'standalone',
      url: 'redis://127.0.0.1:6379',
      prefix: '{leash}',
      minReplicas: 0,
      replicaTimeoutMs: 2000,
    });
  });

  it('always hash-tags the prefix, so every key of one deployment hashes to one Cluster slot', () => {
    expect(sut({ ...base, LEASH_REDIS_PREFIX: 'acme' }).redis.prefix).toBe('{acme}');
    expect(sut({ ...base, LEASH_REDIS_PREFIX: '{acme}' }).redis.prefix).toBe('{acme}');
    expect(problems({ LEASH_REDIS_PREFIX: 'a{b}c' })).toMatch(/^LEASH_REDIS_PREFIX: /);
  });

  it('reads a Sentinel set-up, with the sentinels password and TLS', () => {
    const config = loadWorkerConfig({
      ...base,
      LEASH_REDIS_MODE: 'sentinel',
      LEASH_REDIS_SENTINELS: '10.0.0.1:26379, sentinel-b.example:26380,[::1]:26381',
      LEASH_REDIS_SENTINEL_MASTER: 'leash-master',
      LEASH_REDIS_SENTINEL_PASSWORD: 'sentinel-pw',
      LEASH_REDIS_PASSWORD: 'data-pw',
      LEASH_REDIS_TLS: 'true',
      LEASH_REDIS_MIN_REPLICAS: '1',
    });
    expect(config.redis).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: 'sentinel-b.example', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      masterName: 'leash-master',
      sentinelPassword: 'sentinel-pw',
      auth: { password: 'data-pw', tls: true },
      prefix: '{leash}',
      minReplicas: 1,
      replicaTimeoutMs: 2000,
    });
  });

  it('reads a Cluster set-up', () => {
    const config = sut({ ...base, LEASH_REDIS_MODE: 'cluster', LEASH_REDIS_CLUSTER_NODES: 'a:7000,b:7001' });
    expect(config.redis).toMatchObject({
      mode: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
      auth: { tls: false },
    });
  });

  it('names each missing or malformed variable of the chosen mode', () => {
    const sentinel = problems({ LEASH_REDIS_MODE: 'sentinel' });
    expect(sentinel).toMatch(/LEASH_REDIS_SENTINELS: is required when LEASH_REDIS_MODE=sentinel/);
    expect(sentinel).toMatch(/LEASH_REDIS_SENTINEL_MASTER: is required when LEASH_REDIS_MODE=sentinel/);
    expect(problems({ LEASH_REDIS_MODE: 'cluster' })).toMatch(/LEASH_REDIS_CLUSTER_NODES: is required/);
    expect(problems({ LEASH_REDIS_MODE: 'cluster', LEASH_REDIS_CLUSTER_NODES: 'a:7000,b' })).toMatch(
      /LEASH_REDIS_CLUSTER_NODES: "b" is not host:port/,
    );
    expect(problems({ LEASH_REDIS_MODE: 'cluster', LEASH_REDIS_CLUSTER_NODES: 'a:70000' })).toMatch(
      /LEASH_REDIS_CLUSTER_NODES: /,
    );
    expect(problems({ LEASH_REDIS_MODE: 'replicated' })).toMatch(/^LEASH_REDIS_MODE: /);
    expect(problems({ LEASH_REDIS_MIN_REPLICAS: '-1' })).toMatch(/^LEASH_REDIS_MIN_REPLICAS: /);
  });

  it('refuses variables of another mode instead of silently ignoring them', () => {
    expect(problems({ LEASH_REDIS_SENTINELS: 'a:26379' })).toMatch(
      /LEASH_REDIS_SENTINELS: is only used when LEASH_REDIS_MODE=sentinel/,
    );
    expect(
      problems({
        LEASH_REDIS_MODE: 'sentinel',
        LEASH_REDIS_SENTINELS: 'a:1',
        LEASH_REDIS_SENTINEL_MASTER: 'm',
        LEASH_REDIS_CLUSTER_NODES: 'a:7000',
      }),
    ).toMatch(/LEASH_REDIS_CLUSTER_NODES: is only used when LEASH_REDIS_MODE=cluster/);
    expect(problems({ LEASH_REDIS_PASSWORD: 'pw' })).toMatch(/LEASH_REDIS_PASSWORD: .*put it in LEASH_REDIS_URL/);
    expect(problems({ LEASH_REDIS_TLS: 'true' })).toMatch(
      /LEASH_REDIS_TLS: asks for TLS but LEASH_REDIS_URL is redis:\/\//,
    );
  });

  it('never prints a Redis password, even when it is malformed', () => {
    const text = problems({
      LEASH_REDIS_MODE: 'sentinel',
      LEASH_REDIS_SENTINEL_PASSWORD: '',
      LEASH_REDIS_PASSWORD: 'x'.repeat(600) + 'secretpw',
      LEASH_REDIS_URL: 'ftp://user:secretpw@host',
    });
    expect(text).toMatch(/LEASH_REDIS_PASSWORD/);
    expect(text).toMatch(/LEASH_REDIS_SENTINEL_PASSWORD/);
    expect(text).toMatch(/LEASH_REDIS_URL/);
    expect(text).not.toContain('secretpw');
  });
});
