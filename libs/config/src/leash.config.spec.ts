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

  it('trusts no proxy by default; LEASH_TRUST_PROXY takes true, a hop count or proxy addresses, nothing else', () => {
    const trust = (value?: string): unknown =>
      loadApiConfig({ LEASH_POLICY: '/p.yaml', ...(value === undefined ? {} : { LEASH_TRUST_PROXY: value }) })
        .trustProxy;
    expect(trust()).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('true')).toBe(true);
    expect(trust('1')).toBe(1);
    expect(trust('10.0.0.0/8, 127.0.0.1,::1')).toEqual(['10.0.0.0/8', '127.0.0.1', '::1']);
    expect(() => trust('everyone')).toThrow(ConfigError);
    expect(() => trust('127.0.0.1,evil.example')).toThrow(ConfigError);
  });
});

describe('loadWorkerConfig', () => {
  it('keeps the reconciler period at or below 5 s', () => {
    expect(loadWorkerConfig({ LEASH_POLICY: '/p' }).reconcileIntervalMs).toBeLessThanOrEqual(5000);
    expect(() => loadWorkerConfig({ LEASH_POLICY: '/p', LEASH_RECONCILE_INTERVAL_MS: '60000' })).toThrow(ConfigError);
  });

  it("links approvals to the API's own address, as the API does, when LEASH_PUBLIC_URL is not set", () => {
    // `LEASH_PORT=8097 npm run demo` gives both processes LEASH_PORT: the worker's notifications and Slack
    // messages must not point at :8080, where nothing (or another service) listens.
    const env = { LEASH_POLICY: '/p', LEASH_HOST: '127.0.0.1', LEASH_PORT: '8097' };
    expect(loadWorkerConfig(env).publicUrl).toBe('http://127.0.0.1:8097');
    expect(loadWorkerConfig(env).publicUrl).toBe(loadApiConfig(env).publicUrl);
    expect(loadWorkerConfig({ LEASH_POLICY: '/p' }).publicUrl).toBe('http://127.0.0.1:8080');
    expect(loadWorkerConfig({ ...env, LEASH_PUBLIC_URL: 'https://leash.example.com/' }).publicUrl).toBe(
      'https://leash.example.com',
    );
    expect(() => loadWorkerConfig({ LEASH_POLICY: '/p', LEASH_PORT: 'eighty' })).toThrow(/LEASH_PORT/);
  });
});

const base = { LEASH_POLICY: '/etc/leash/policy.yaml' };
const TOKEN = 'xoxb-1234567890-abcdefghij';
const SECRET = 'abcdef0123456789abcdef0123456789';

describe('Slack configuration', () => {
  const sut = loadApiConfig;

  it('is off unless both the bot token and the signing secret are set', () => {
    expect(sut(base).slack).toBeUndefined();
  });

  it('reads channel, routes and the API URL (with the trailing slash the client needs)', () => {
    const config = sut({
      ...base,
      LEASH_SLACK_BOT_TOKEN: TOKEN,
      LEASH_SLACK_SIGNING_SECRET: SECRET,
      LEASH_SLACK_CHANNEL: '#leash-approvals',
      LEASH_SLACK_ROUTES: 'production=C0PROD, role:db-admin=#db-approvals',
      LEASH_SLACK_API_URL: 'http://127.0.0.1:9999/api',
    });
    expect(config.slack).toEqual({
      botToken: TOKEN,
      signingSecret: SECRET,
      defaultChannel: '#leash-approvals',
      routes: { environments: { production: 'C0PROD' }, roles: { 'db-admin': '#db-approvals' } },
      apiUrl: 'http://127.0.0.1:9999/api/',
    });
    expect(
      loadWorkerConfig({
        ...base,
        LEASH_SLACK_BOT_TOKEN: TOKEN,
        LEASH_SLACK_SIGNING_SECRET: SECRET,
        LEASH_SLACK_CHANNEL: 'C0X',
      }).slack?.apiUrl,
    ).toBe('https://slack.com/api/');
  });

  it('names every missing or bad variable and never prints the secrets', () => {
    const attempt = () =>
      sut({ ...base, LEASH_SLACK_BOT_TOKEN: 'xoxb-not valid secret value', LEASH_SLACK_ROUTES: 'production' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toContain('LEASH_SLACK_BOT_TOKEN');
      expect(message).toContain('LEASH_SLACK_SIGNING_SECRET');
      expect(message).toContain('LEASH_SLACK_ROUTES');
      expect(message).not.toContain('not valid secret value');
    }
    expect(() => sut({ ...base, LEASH_SLACK_BOT_TOKEN: TOKEN, LEASH_SLACK_SIGNING_SECRET: SECRET })).toThrow(
      /LEASH_SLACK_CHANNEL/,
    );
  });
});

describe('kubernetes access configuration', () => {
  const base = { LEASH_POLICY: '/etc/leash/policy.yaml' };

  it('takes KUBECONFIG as a path list, falls back to ~/.kube/config, and enables in-cluster only in a pod', () => {
    expect(loadApiConfig({ ...base, KUBECONFIG: '/a:/b::', HOME: '/home/x' }).kubernetes).toEqual({
      kubeconfigPaths: ['/a', '/b'],
    });
    expect(loadApiConfig({ ...base, HOME: '/home/x' }).kubernetes.kubeconfigPaths).toEqual(['/home/x/.kube/config']);
    expect(loadApiConfig(base).kubernetes.kubeconfigPaths).toEqual([]);
    const sut = loadWorkerConfig({ ...base, KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' });
    expect(sut.kubernetes.inCluster).toEqual({
      host: '10.0.0.1',
      port: '443',
      tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
    });
    expect(sut.sweepIntervalMs).toBe(60000);
  });

  it('refuses a bad sweep interval or service port, naming the variable', () => {
    expect(() => loadWorkerConfig({ ...base, LEASH_SWEEP_INTERVAL_MS: '10' })).toThrow(/LEASH_SWEEP_INTERVAL_MS/);
    expect(() => loadApiConfig({ ...base, KUBERNETES_SERVICE_PORT: 'https' })).toThrow(/KUBERNETES_SERVICE_PORT/);
  });
});
