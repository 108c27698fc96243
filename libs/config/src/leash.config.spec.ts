import { ConfigError } from './config.errors';
import { loadApiConfig, loadWorkerConfig } from './leash.config';

describe('loadApiConfig', () => {
  it('applies safe defaults: dev issuer off, loopback, port 8080', () => {
    const sut = loadApiConfig({ LEASH_POLICY: '/p.yaml' });
    expect(sut).toMatchObject({ devIssuer: false, host: '127.0.0.1', port: 8080, publicUrl: 'http://127.0.0.1:8080' });
  });

  it('names every bad variable and never prints the Redis URL (it may hold a password)', () => {
    let error: ConfigError | undefined;
    try {
      loadApiConfig({ LEASH_PORT: '99999', LEASH_DEV_ISSUER: 'maybe', LEASH_REDIS_URL: 'not a url :secretpw' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = error?.problems.join('\n') ?? '';
    for (const name of ['LEASH_PORT', 'LEASH_DEV_ISSUER', 'LEASH_REDIS_URL', 'LEASH_POLICY']) {
      expect(text).toContain(name);
    }
    expect(text).not.toContain('secretpw');
  });
});

describe('loadWorkerConfig', () => {
  it('keeps the reconciler period at or below 5 s', () => {
    expect(loadWorkerConfig({ LEASH_POLICY: '/p' }).reconcileIntervalMs).toBeLessThanOrEqual(5000);
    expect(() => loadWorkerConfig({ LEASH_POLICY: '/p', LEASH_RECONCILE_INTERVAL_MS: '60000' })).toThrow(ConfigError);
  });
});
