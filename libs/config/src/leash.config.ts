import { z } from 'zod';
import { ConfigError } from './config.errors';
import { REDIS_SENSITIVE, redisConfig, redisRefinement, redisShape, type RedisConfig } from './redis.config';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const httpUrl = z
  .string()
  .url()
  .refine((v) => /^https?:\/\//.test(v), 'must be an http(s) URL');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Fastify's trustProxy: false (default), true, a hop count, or a comma-separated list of proxy addresses/CIDRs. */
export type TrustProxy = boolean | number | string[];
const trustProxy = z
  .string()
  .trim()
  .max(2048)
  .transform((v, ctx): TrustProxy => {
    const lower = v.toLowerCase();
    if (['', 'false', '0', 'no'].includes(lower)) {
      return false;
    }
    if (['true', 'yes'].includes(lower)) {
      return true;
    }
    if (/^[1-9]\d{0,1}$/.test(v)) {
      return Number(v);
    }
    const list = v.split(',').map((a) => a.trim());
    if (list.every((a) => /^[0-9A-Fa-f:.]+(\/\d{1,3})?$/.test(a) && /[.:]/.test(a))) {
      return list;
    }
    ctx.addIssue({ code: 'custom', message: 'false, true, a hop count (1-99) or comma-separated proxy IPs/CIDRs' });
    return z.NEVER;
  });

/** Sensitive variables: never printed, even in validation errors. */
const SENSITIVE = new Set<string>([
  ...REDIS_SENSITIVE,
  'LEASH_SLACK_BOT_TOKEN',
  'LEASH_SLACK_SIGNING_SECRET',
  'LEASH_OIDC_CLIENT_SECRET',
  'LEASH_AUDIT_WEBHOOK_URL',
  'LEASH_AUDIT_WEBHOOK_SECRET',
]);

const slackChannel = z.string().regex(/^[#A-Za-z0-9][A-Za-z0-9._-]{0,79}$/, 'a Slack channel id (C0123ABCD) or #name');

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** An https URL, or plain http on loopback only (a local test or development IdP). */
const issuerUrl = z
  .string()
  .url()
  .refine((v) => {
    const u = new URL(v);
    return u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname));
  }, 'must be an https URL (plain http only on loopback)');

const csv = z.string().transform((v) =>
  v
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
);

const sharedShape = {
  ...redisShape,
  LEASH_POLICY: z.string({ error: 'is required (path to the policy YAML file)' }).min(1),
  LEASH_POLICY_WATCH: bool.default(true),
  LEASH_JWT_KEYS: z.string().min(1).optional(),
  LEASH_PUBLIC_URL: z.string().url().optional(),
  LEASH_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  LEASH_REVOKE_ATTEMPTS: int(1, 50).default(5),
  LEASH_REVOKE_BACKOFF_MS: int(10, 600000).default(1000),
  LEASH_QUARANTINE_RETRY_MS: int(1000, 86400000).default(60000),
  LEASH_STALE_CLAIM_MS: int(1000, 86400000).default(300000),
  LEASH_CLAIM_DEAD_AFTER_MS: int(1000, 600000).default(15000),
  LEASH_RETENTION_SECONDS: int(60, 31536000).default(7 * 86400),
  // Cloud providers. The AWS SDK reads its own standard variables (region, credential chain,
  // AWS_ENDPOINT_URL_*); they are checked here only so a malformed endpoint stops the start.
  AWS_ENDPOINT_URL_STS: httpUrl.optional(),
  AWS_ENDPOINT_URL_IAM: httpUrl.optional(),
  LEASH_AWS_MAX_ATTEMPTS: int(1, 10).default(3),
  LEASH_AWS_IAM_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/)
    .default('us-east-1'),
  LEASH_GCP_IAMCREDENTIALS_ENDPOINT: httpUrl.optional(),
  // Kubernetes conventions: KUBECONFIG (path list), else ~/.kube/config; in-cluster when the service env is set.
  KUBECONFIG: z.string().optional(),
  HOME: z.string().optional(),
  KUBERNETES_SERVICE_HOST: z.string().min(1).optional(),
  KUBERNETES_SERVICE_PORT: z
    .string()
    .regex(/^\d{1,5}$/)
    .optional(),
  LEASH_SLACK_BOT_TOKEN: z
    .string()
    .regex(/^xox[a-z]-[A-Za-z0-9-]{8,}$/, 'must be a Slack bot token (xoxb-…)')
    .optional(),
  LEASH_SLACK_SIGNING_SECRET: z.string().min(16, 'must be the Slack app signing secret').optional(),
  LEASH_SLACK_CHANNEL: slackChannel.optional(),
  /** Comma-separated `key=channel`; key is an environment name or `role:<role id>` (role wins). */
  LEASH_SLACK_ROUTES: z.string().optional(),
  LEASH_SLACK_API_URL: z.string().url().default('https://slack.com/api/'),
  LEASH_NOTIFY_ATTEMPTS: int(1, 50).default(8),
  LEASH_NOTIFY_BACKOFF_MS: int(10, 600000).default(1000),
  LEASH_AUDIT_CHECKPOINT_INTERVAL_MS: int(1000, 86_400_000).default(60_000),
  LEASH_AUDIT_CHECKPOINT_EVERY_EVENTS: int(1, 1_000_000).default(1000),
  LEASH_AUDIT_RETENTION_SECONDS: int(60, 10 * 31536000).default(30 * 86400),
  LEASH_AUDIT_JSONL_DIR: z.string().min(1).optional(),
  LEASH_AUDIT_JSONL_MAX_BYTES: int(1024, 1024 ** 3).default(64 * 1024 ** 2),
  LEASH_AUDIT_WEBHOOK_URL: z.string().url().optional(),
  LEASH_AUDIT_WEBHOOK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  LEASH_AUDIT_EXPORT_ATTEMPTS: int(1, 100).default(8),
  LEASH_AUDIT_EXPORT_BACKOFF_MS: int(10, 600_000).default(1000),
  LEASH_AUDIT_EXPORT_BATCH: int(1, 10_000).default(500),
  LEASH_AUDIT_DEAD_LETTER_PAUSE_MS: int(100, 86_400_000).default(60_000),
  LEASH_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  NODE_ENV: z.string().optional(),
  // Redis must persist (AOF or RDB) to be ready; on by default in production (NODE_ENV=production).
  LEASH_REQUIRE_PERSISTENCE: bool.optional(),
  LEASH_STORE_CHECK_MS: int(100, 60_000).default(1000),
  LEASH_MAX_CLOCK_SKEW_MS: int(10, 60_000).default(1000),
  // OpenTelemetry traces (off unless an OTLP/HTTP endpoint is set); Leash's own name wins over the standard one.
  LEASH_OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
};

function auditRefinement(e: Record<string, unknown>, ctx: z.RefinementCtx): void {
  if (e.LEASH_AUDIT_WEBHOOK_URL !== undefined && e.LEASH_AUDIT_WEBHOOK_SECRET === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['LEASH_AUDIT_WEBHOOK_SECRET'],
      message: 'is required when LEASH_AUDIT_WEBHOOK_URL is set (HMAC key of the audit webhook)',
    });
  }
}

function slackRefinement(e: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const token = e.LEASH_SLACK_BOT_TOKEN !== undefined;
  const secret = e.LEASH_SLACK_SIGNING_SECRET !== undefined;
  if (token !== secret) {
    const missing = token ? 'LEASH_SLACK_SIGNING_SECRET' : 'LEASH_SLACK_BOT_TOKEN';
    ctx.addIssue({
      code: 'custom',
      path: [missing],
      message: 'is required when Slack is enabled (set both or neither)',
    });
  }
  if (token && secret && e.LEASH_SLACK_CHANNEL === undefined) {
    ctx.addIssue({ code: 'custom', path: ['LEASH_SLACK_CHANNEL'], message: 'is required when Slack is enabled' });
  }
  if (typeof e.LEASH_SLACK_ROUTES === 'string' && parseSlackRoutes(e.LEASH_SLACK_ROUTES) === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['LEASH_SLACK_ROUTES'],
      message: 'must be comma-separated key=channel pairs (key: an environment or role:<id>)',
    });
  }
}

/** Parses `production=C0PROD,role:db-admin=#db-approvals`; undefined when malformed. */
export function parseSlackRoutes(value: string): SlackRoutes | undefined {
  const routes: SlackRoutes = { environments: {}, roles: {} };
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const match = /^(role:)?([A-Za-z0-9][A-Za-z0-9._-]{0,127})=(.+)$/.exec(part);
    if (!match || !slackChannel.safeParse(match[3]).success) {
      return undefined;
    }
    (match[1] ? routes.roles : routes.environments)[match[2]] = match[3];
  }
  return routes;
}

const apiSchema = z
  .object({
    ...sharedShape,
    LEASH_METRICS_PORT: int(0, 65535).optional(),
    LEASH_HOST: z.string().min(1).default('127.0.0.1'),
    LEASH_PORT: int(0, 65535).default(8080),
    LEASH_DEV_ISSUER: bool.default(false),
    LEASH_DATA_DIR: z.string().min(1).default('.leash-data'),
    LEASH_BODY_LIMIT_BYTES: int(1024, 10 * 1024 * 1024).default(65536),
    LEASH_RATE_LIMIT_PER_MINUTE: int(1, 1000000).default(1200),
    LEASH_TRUST_PROXY: trustProxy.default(false),
    LEASH_OIDC_ISSUER: issuerUrl.optional(),
    LEASH_OIDC_CLIENT_ID: z.string().min(1).max(256).optional(),
    LEASH_OIDC_CLIENT_SECRET: z.string().min(1).max(1024).optional(),
    LEASH_OIDC_SCOPES: z.string().min(1).default('openid email profile groups'),
    LEASH_OIDC_GROUPS_CLAIM: z.string().min(1).default('groups'),
    LEASH_OIDC_MFA_AMR: csv.default(['mfa', 'otp', 'hwk', 'swk', 'sc', 'sms', 'tel', 'fpt', 'face', 'iris']),
    LEASH_OIDC_MFA_ACR: z.string().min(1).optional(),
    LEASH_CONSOLE_SESSION_TTL: int(60, 7 * 86400).default(8 * 3600),
    LEASH_CONSOLE_MFA_MAX_AGE: int(30, 86400).default(900),
  })
  .superRefine(slackRefinement)
  .superRefine(redisRefinement)
  .superRefine((e, ctx) => {
    const oidc = [e.LEASH_OIDC_ISSUER, e.LEASH_OIDC_CLIENT_ID];
    if (oidc.some((v) => v !== undefined) && oidc.some((v) => v === undefined)) {
      for (const name of ['LEASH_OIDC_ISSUER', 'LEASH_OIDC_CLIENT_ID'] as const) {
        if (e[name] === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'is required when the console OIDC login is configured',
          });
        }
      }
    }
  })
  .superRefine(auditRefinement);

const workerSchema = z
  .object({
    ...sharedShape,
    LEASH_WORKER_METRICS_PORT: int(0, 65535).optional(),
    // The worker listens on neither, but its approval links (notifications, Slack) default to the API's address.
    LEASH_HOST: z.string().min(1).default('127.0.0.1'),
    LEASH_PORT: int(0, 65535).default(8080),
    LEASH_RECONCILE_INTERVAL_MS: int(200, 5000).default(2000),
    LEASH_WORKER_CONCURRENCY: int(1, 1000).default(50),
    LEASH_SWEEP_INTERVAL_MS: int(1000, 86400000).default(60000),
  })
  .superRefine(slackRefinement)
  .superRefine(redisRefinement)
  .superRefine(auditRefinement);

export interface SlackRoutes {
  environments: Record<string, string>;
  roles: Record<string, string>;
}

/** Slack approvals; present only when the bot token and signing secret are both set. */
export interface SlackConfig {
  botToken: string;
  signingSecret: string;
  defaultChannel: string;
  routes: SlackRoutes;
  apiUrl: string;
}

export interface SharedConfig {
  redis: RedisConfig;
  policyPath: string;
  /** Reload the policy when its file changes (SIGHUP always reloads). */
  policyWatch: boolean;
  jwtKeysPath?: string;
  publicUrl: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  revocation: { attempts: number; backoffMs: number; quarantineRetryMs: number };
  /** A claim still `issuing` this long after its claim window closed was interrupted (broker crash, Redis loss). */
  staleClaimMs: number;
  /** A claim attempt not heard from (heartbeat) this long is dead: the reconciler recovers its intent. */
  claimDeadAfterMs: number;
  retentionSeconds: number;
  aws: { maxAttempts: number; iamRegion: string };
  gcp: { iamCredentialsEndpoint?: string };
  kubernetes: KubernetesAccessConfig;
  slack?: SlackConfig;
  notifications: { attempts: number; backoffMs: number };
  audit: AuditConfig;
  /** Where the Prometheus endpoint listens (a separate port, never the public API port); off without a port. */
  metrics: { host: string; port?: number };
  /** Store health checks (epoch, eviction policy, persistence, memory, clock offset from Redis TIME). */
  store: { requirePersistence: boolean; checkIntervalMs: number; maxClockSkewMs: number };
  /** OpenTelemetry trace export over OTLP/HTTP (`<endpoint>/v1/traces`); off when absent. */
  tracing?: { tracesUrl: string };
}

export interface AuditConfig {
  checkpointIntervalMs: number;
  /** A checkpoint is also made once this many events were appended since the last one. */
  checkpointEveryEvents: number;
  retentionSeconds: number;
  jsonl?: { dir: string; maxBytes: number };
  webhook?: { url: string; secret: string };
  export: { attempts: number; backoffMs: number; batchSize: number; deadLetterPauseMs: number };
}

/** Where the kubernetes provider finds clusters (see docs/kubernetes.md). */
export interface KubernetesAccessConfig {
  kubeconfigPaths: string[];
  inCluster?: { host: string; port: string; tokenFile: string; caFile: string };
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ApiConfig extends SharedConfig {
  host: string;
  port: number;
  devIssuer: boolean;
  dataDir: string;
  bodyLimitBytes: number;
  rateLimitPerMinute: number;
  /** Fastify trustProxy (LEASH_TRUST_PROXY): whose X-Forwarded-For to believe for the client address. */
  trustProxy: TrustProxy;
  console: ConsoleConfig;
}

export interface ConsoleConfig {
  /** OpenID Connect login of approvers; absent when no IdP is configured. */
  oidc?: {
    issuer: string;
    clientId: string;
    /** Sensitive: never logged. Absent for a public client (PKCE only). */
    clientSecret?: string;
    scopes: string;
    groupsClaim: string;
    /** `amr` values that count as a multi-factor login. */
    mfaAmr: string[];
    /** `acr_values` asked for when an approver must log in again with MFA. */
    mfaAcr?: string;
  };
  sessionTtlSeconds: number;
  /** Default limit on the age of an MFA login when the role's rule names none. */
  mfaMaxAgeSeconds: number;
  /** Secure cookies everywhere but development (dev issuer on, or a plain-http loopback URL). */
  secureCookies: boolean;
}

export interface WorkerConfig extends SharedConfig {
  reconcileIntervalMs: number;
  concurrency: number;
  /** Period of the orphaned-identity sweep (ServiceAccounts whose lease is not active). */
  sweepIntervalMs: number;
}

type Env = Record<string, string | undefined>;

function parse<S extends z.ZodType>(schema: S, env: Env): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      const shown = SENSITIVE.has(name) || env[name] === undefined ? '' : ` (got "${env[name]}")`;
      return `${name}: ${issue.message}${shown}`;
    });
    throw new ConfigError(problems);
  }
  return result.data;
}

function shared(e: z.infer<z.ZodObject<typeof sharedShape>>, fallbackUrl: string): SharedConfig {
  return {
    redis: redisConfig(e),
    policyPath: e.LEASH_POLICY,
    policyWatch: e.LEASH_POLICY_WATCH,
    jwtKeysPath: e.LEASH_JWT_KEYS,
    publicUrl: (e.LEASH_PUBLIC_URL ?? fallbackUrl).replace(/\/+$/, ''),
    logLevel: e.LEASH_LOG_LEVEL,
    revocation: {
      attempts: e.LEASH_REVOKE_ATTEMPTS,
      backoffMs: e.LEASH_REVOKE_BACKOFF_MS,
      quarantineRetryMs: e.LEASH_QUARANTINE_RETRY_MS,
    },
    staleClaimMs: e.LEASH_STALE_CLAIM_MS,
    claimDeadAfterMs: e.LEASH_CLAIM_DEAD_AFTER_MS,
    retentionSeconds: e.LEASH_RETENTION_SECONDS,
    aws: { maxAttempts: e.LEASH_AWS_MAX_ATTEMPTS, iamRegion: e.LEASH_AWS_IAM_REGION },
    gcp: { iamCredentialsEndpoint: e.LEASH_GCP_IAMCREDENTIALS_ENDPOINT },
    kubernetes: kubernetesAccess(e),
    notifications: { attempts: e.LEASH_NOTIFY_ATTEMPTS, backoffMs: e.LEASH_NOTIFY_BACKOFF_MS },
    audit: {
      checkpointIntervalMs: e.LEASH_AUDIT_CHECKPOINT_INTERVAL_MS,
      checkpointEveryEvents: e.LEASH_AUDIT_CHECKPOINT_EVERY_EVENTS,
      retentionSeconds: e.LEASH_AUDIT_RETENTION_SECONDS,
      ...(e.LEASH_AUDIT_JSONL_DIR
        ? { jsonl: { dir: e.LEASH_AUDIT_JSONL_DIR, maxBytes: e.LEASH_AUDIT_JSONL_MAX_BYTES } }
        : {}),
      ...(e.LEASH_AUDIT_WEBHOOK_URL && e.LEASH_AUDIT_WEBHOOK_SECRET
        ? { webhook: { url: e.LEASH_AUDIT_WEBHOOK_URL, secret: e.LEASH_AUDIT_WEBHOOK_SECRET } }
        : {}),
      export: {
        attempts: e.LEASH_AUDIT_EXPORT_ATTEMPTS,
        backoffMs: e.LEASH_AUDIT_EXPORT_BACKOFF_MS,
        batchSize: e.LEASH_AUDIT_EXPORT_BATCH,
        deadLetterPauseMs: e.LEASH_AUDIT_DEAD_LETTER_PAUSE_MS,
      },
    },
    metrics: { host: e.LEASH_METRICS_HOST },
    store: {
      requirePersistence: e.LEASH_REQUIRE_PERSISTENCE ?? e.NODE_ENV === 'production',
      checkIntervalMs: e.LEASH_STORE_CHECK_MS,
      maxClockSkewMs: e.LEASH_MAX_CLOCK_SKEW_MS,
    },
    ...tracing(e.LEASH_OTEL_EXPORTER_OTLP_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_ENDPOINT),
    ...(e.LEASH_SLACK_BOT_TOKEN && e.LEASH_SLACK_SIGNING_SECRET && e.LEASH_SLACK_CHANNEL
      ? {
          slack: {
            botToken: e.LEASH_SLACK_BOT_TOKEN,
            signingSecret: e.LEASH_SLACK_SIGNING_SECRET,
            defaultChannel: e.LEASH_SLACK_CHANNEL,
            routes: parseSlackRoutes(e.LEASH_SLACK_ROUTES ?? '') ?? { environments: {}, roles: {} },
            // The client joins method names to this URL, so it must end with a slash.
            apiUrl: e.LEASH_SLACK_API_URL.replace(/\/*$/, '/'),
          },
        }
      : {}),
  };
}

function kubernetesAccess(e: z.infer<z.ZodObject<typeof sharedShape>>): KubernetesAccessConfig {
  const listed = (e.KUBECONFIG ?? '').split(':').filter((p) => p.length > 0);
  const kubeconfigPaths = listed.length > 0 ? listed : e.HOME ? [`${e.HOME}/.kube/config`] : [];
  return {
    kubeconfigPaths,
    ...(e.KUBERNETES_SERVICE_HOST && e.KUBERNETES_SERVICE_PORT
      ? {
          inCluster: {
            host: e.KUBERNETES_SERVICE_HOST,
            port: e.KUBERNETES_SERVICE_PORT,
            tokenFile: `${SERVICE_ACCOUNT_DIR}/token`,
            caFile: `${SERVICE_ACCOUNT_DIR}/ca.crt`,
          },
        }
      : {}),
  };
}

function tracing(endpoint: string | undefined): Pick<SharedConfig, 'tracing'> {
  return endpoint === undefined ? {} : { tracing: { tracesUrl: `${endpoint.replace(/\/+$/, '')}/v1/traces` } };
}

function withMetricsPort(c: SharedConfig, port: number | undefined): SharedConfig {
  return port === undefined ? c : { ...c, metrics: { ...c.metrics, port } };
}

/** Reads and validates the API's configuration; throws ConfigError naming every bad variable. */
export function loadApiConfig(env: Env = process.env): ApiConfig {
  const e = parse(apiSchema, env);
  return {
    ...withMetricsPort(shared(e, `http://${e.LEASH_HOST}:${e.LEASH_PORT}`), e.LEASH_METRICS_PORT),
    host: e.LEASH_HOST,
    port: e.LEASH_PORT,
    devIssuer: e.LEASH_DEV_ISSUER,
    dataDir: e.LEASH_DATA_DIR,
    bodyLimitBytes: e.LEASH_BODY_LIMIT_BYTES,
    rateLimitPerMinute: e.LEASH_RATE_LIMIT_PER_MINUTE,
    trustProxy: e.LEASH_TRUST_PROXY,
    console: consoleConfig(e),
  };
}

function consoleConfig(e: z.infer<typeof apiSchema>): ConsoleConfig {
  const publicUrl = new URL(e.LEASH_PUBLIC_URL ?? `http://${e.LEASH_HOST}:${e.LEASH_PORT}`);
  const development = e.LEASH_DEV_ISSUER || (publicUrl.protocol === 'http:' && LOOPBACK_HOSTS.has(publicUrl.hostname));
  return {
    ...(e.LEASH_OIDC_ISSUER !== undefined && e.LEASH_OIDC_CLIENT_ID !== undefined
      ? {
          oidc: {
            issuer: e.LEASH_OIDC_ISSUER,
            clientId: e.LEASH_OIDC_CLIENT_ID,
            ...(e.LEASH_OIDC_CLIENT_SECRET !== undefined ? { clientSecret: e.LEASH_OIDC_CLIENT_SECRET } : {}),
            scopes: e.LEASH_OIDC_SCOPES,
            groupsClaim: e.LEASH_OIDC_GROUPS_CLAIM,
            mfaAmr: e.LEASH_OIDC_MFA_AMR,
            ...(e.LEASH_OIDC_MFA_ACR !== undefined ? { mfaAcr: e.LEASH_OIDC_MFA_ACR } : {}),
          },
        }
      : {}),
    sessionTtlSeconds: e.LEASH_CONSOLE_SESSION_TTL,
    mfaMaxAgeSeconds: e.LEASH_CONSOLE_MFA_MAX_AGE,
    secureCookies: !development,
  };
}

/** Reads and validates the worker's configuration. */
export function loadWorkerConfig(env: Env = process.env): WorkerConfig {
  const e = parse(workerSchema, env);
  return {
    ...withMetricsPort(shared(e, `http://${e.LEASH_HOST}:${e.LEASH_PORT}`), e.LEASH_WORKER_METRICS_PORT),
    reconcileIntervalMs: e.LEASH_RECONCILE_INTERVAL_MS,
    concurrency: e.LEASH_WORKER_CONCURRENCY,
    sweepIntervalMs: e.LEASH_SWEEP_INTERVAL_MS,
  };
}

export const API_CONFIG = Symbol('ApiConfig');
export const SHARED_CONFIG = Symbol('SharedConfig');
export const WORKER_CONFIG = Symbol('WorkerConfig');
