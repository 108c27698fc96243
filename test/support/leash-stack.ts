import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parse } from 'yaml';
import { freePort } from './free-port';
import { ProcessHandle } from './process-handle';
import { RedisServer } from './redis-server';
import { TEST_IDP_AUDIENCE, TEST_IDP_ISSUER, type TestIdp } from './test-idp';

const ROOT = join(__dirname, '..', '..');
export const DEMO_POLICY = join(ROOT, 'deploy', 'examples', 'demo-policy.yaml');

export interface StackOptions<R extends LeashRedis = RedisServer> {
  name: string;
  /** Extra env for both processes. */
  env?: Record<string, string>;
  /** Extra env for the worker only. */
  workerEnv?: Record<string, string>;
  /** Adds the test IdP as a trusted issuer of the demo policy. */
  idp?: TestIdp;
  /** Transforms the demo policy document before it is written. */
  policy?: (doc: Record<string, unknown>) => Record<string, unknown>;
  devIssuer?: boolean;
  /** Algorithm of the generated JWT signing key (scripts/generate-jwt-keys.js; its default is ES256). */
  jwtAlg?: 'ES256' | 'EdDSA' | 'RS256';
  worker?: boolean;
  /** A Redis the suite started (and stops): a RedisServer, or a Sentinel or Cluster set. */
  redis?: R;
}

/** What the stack needs of the Redis it runs on: an address, its data files and a keyspace dump (leak scan). */
export interface LeashRedis {
  readonly url: string;
  readonly dir: string;
  dump(): Promise<string>;
  stop(): Promise<void>;
}

/** Redis, the broker API and the worker as real processes from dist/, on free loopback ports. */
export class LeashStack<R extends LeashRedis = RedisServer> {
  readonly issuedSecrets: string[] = [];

  private constructor(
    readonly redis: R,
    readonly api: ProcessHandle,
    readonly worker: ProcessHandle,
    readonly url: string,
    readonly dir: string,
    private readonly ownsRedis: boolean,
    /** Prometheus endpoints of the API and the worker (separate loopback ports). */
    readonly metricsUrl: string,
    readonly workerMetricsUrl: string,
  ) {}

  static async start<R extends LeashRedis = RedisServer>(options: StackOptions<R>): Promise<LeashStack<R>> {
    const dir = mkdtempSync(join(tmpdir(), `leash-${options.name}-`));
    // Without a Redis of the suite's own, R is RedisServer (the default).
    const redis = options.redis ?? ((await RedisServer.start(`redis-${options.name}`)) as unknown as R);
    const port = await freePort();
    const metricsPort = await freePort();
    const workerMetricsPort = await freePort();
    const keysPath = join(dir, 'jwt-keys.json');
    writeJwtKeys(keysPath, options.jwtAlg);
    let doc = parse(readFileSync(DEMO_POLICY, 'utf8')) as Record<string, unknown>;
    if (options.idp) {
      const issuers = doc.issuers as unknown[];
      issuers.push({
        name: 'test-idp',
        issuer: TEST_IDP_ISSUER,
        audience: TEST_IDP_AUDIENCE,
        jwks: options.idp.jwks(),
      });
    }
    if (options.policy) {
      doc = options.policy(doc);
    }
    const policyPath = join(dir, 'policy.yaml');
    writeFileSync(policyPath, stringify(doc));
    const env: Record<string, string> = {
      LEASH_POLICY: policyPath,
      LEASH_JWT_KEYS: keysPath,
      LEASH_REDIS_URL: redis.url,
      LEASH_PORT: String(port),
      LEASH_HOST: '127.0.0.1',
      // The worker renders links (e.g. in Slack messages) to the API it cannot otherwise know.
      LEASH_PUBLIC_URL: `http://127.0.0.1:${port}`,
      LEASH_DATA_DIR: join(dir, 'data'),
      LEASH_DEV_ISSUER: options.devIssuer === false ? 'false' : 'true',
      LEASH_LOG_LEVEL: 'debug',
      LEASH_METRICS_PORT: String(metricsPort),
      LEASH_WORKER_METRICS_PORT: String(workerMetricsPort),
      LEASH_RECONCILE_INTERVAL_MS: '1000',
      LEASH_REVOKE_BACKOFF_MS: '200',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...options.env,
    };
    const api = new ProcessHandle(
      `${options.name}-api`,
      process.execPath,
      [join(ROOT, 'dist/apps/api/src/main.js')],
      env,
      /leash api listening/,
    );
    const worker = new ProcessHandle(
      `${options.name}-worker`,
      process.execPath,
      [join(ROOT, 'dist/apps/worker/src/main.js')],
      { ...env, ...options.workerEnv },
      /leash worker started/,
    );
    const stack = new LeashStack<R>(
      redis,
      api,
      worker,
      `http://127.0.0.1:${port}`,
      dir,
      options.redis === undefined,
      `http://127.0.0.1:${metricsPort}/metrics`,
      `http://127.0.0.1:${workerMetricsPort}/metrics`,
    );
    try {
      await api.start();
      if (options.worker !== false) {
        await worker.start();
      }
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  /** Stops every process this stack started, by pid. */
  async stop(): Promise<void> {
    await Promise.allSettled([this.api.stop(), this.worker.stop()]);
    if (this.ownsRedis) {
      await this.redis.stop();
    }
  }

  async devToken(claims: {
    subject: string;
    owner?: string;
    groups?: string[];
    email?: string;
    ttlSeconds?: number;
  }): Promise<string> {
    const res = await fetch(`${this.url}/v1/dev/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(claims),
    });
    if (res.status !== 201) {
      throw new Error(`dev token: HTTP ${res.status} ${await res.text()}`);
    }
    return ((await res.json()) as { token: string }).token;
  }

  private resourceServerToken?: string;

  /** POST /v1/introspect as the demo policy's resource server `demo-api` (member of `resource-servers`). */
  async introspect(token: string): Promise<{ status: number; body: any; headers: Headers }> {
    this.resourceServerToken ??= await this.devToken({ subject: 'demo-api', ttlSeconds: 86400 });
    return this.call('POST', '/v1/introspect', { token: this.resourceServerToken, body: { token } });
  }

  /** Calls the API; records every credential secret it sees for the leak scan. */
  async call(
    method: string,
    path: string,
    options: {
      token?: string;
      body?: unknown;
      raw?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<{ status: number; body: any; headers: Headers }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body !== undefined || options.raw !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      body: options.raw ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined),
    });
    const text = await res.text();
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // keep text
    }
    const credential = body?.credential as Record<string, string> | undefined;
    if (credential) {
      for (const [key, value] of Object.entries(credential)) {
        // An AWS access key id is an identifier, not a secret (CloudTrail logs it; leases keep it to join those logs).
        if (/token|secret|key/i.test(key) && key !== 'accessKeyId' && value.length > 16) {
          this.issuedSecrets.push(value);
        }
      }
    }
    return { status: res.status, body, headers: res.headers };
  }

  /** Secrets issued during this stack's life found in its logs or in Redis (must be none). */
  async leakedSecrets(): Promise<string[]> {
    const haystack = [this.api.log, this.worker.log, await this.redis.dump(), readAof(this.redis.dir)].join('\n');
    return this.issuedSecrets.filter((s) => haystack.includes(s) || haystack.includes(s.split('.')[2] ?? s));
  }
}

function readAof(dir: string): string {
  const { readdirSync, statSync } = require('node:fs') as typeof import('node:fs');
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      if (statSync(p).isDirectory()) {
        walk(p);
      } else {
        out.push(readFileSync(p, 'latin1'));
      }
    }
  };
  walk(dir);
  return out.join('\n');
}

/** The key set an operator would generate (the same script, its default algorithm unless asked). */
function writeJwtKeys(path: string, alg?: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'generate-jwt-keys.js'), path, ...(alg ? ['--alg', alg] : [])]);
  chmodSync(path, 0o600);
}
