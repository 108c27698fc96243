import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { CLOCK, ID_GENERATOR, RandomIdGenerator } from '@leash/core';
import type { SharedConfig } from '@leash/config';
import {
  AutoApprovalBudgetStore,
  BreakGlassStore,
  LeaseCensus,
  LEASE_STORE,
  RedisLeaseStore,
  SessionEventStore,
} from '@leash/leases';
import {
  AUDIT_LOG,
  AUDIT_SINKS,
  CHECKPOINT_SIGNER,
  CHECKPOINT_VERIFIER,
  CHECKPOINT_STORE,
  RedisCheckpointStore,
  RedisSinkState,
  RedisStreamAuditLog,
  type AuditLog,
  type AuditObserver,
} from '@leash/audit';
import {
  APPROVAL_NOTIFIERS,
  MESSAGE_REF_STORE,
  RedisMessageRefStore,
  SLACK_RESPONDER,
  SlackNotifier,
  SlackReplayGuard,
  PENDING_REQUEST_INDEX,
  WebConsoleNotifier,
  type ApprovalNotifier,
} from '@leash/approvals';
import { JwtKeySet, ProviderRegistry } from '@leash/providers';
import { createCredentialProviders, type BuiltProviders } from './infrastructure/credential-providers.factory';
import {
  AUTO_APPROVAL_BUDGET,
  BROKER_LOGGER,
  DEV_ISSUER,
  JWT_PROVIDER,
  POLICY_HOLDER,
  POLICY_WATCH,
  PROVIDER_REGISTRY,
  PUBLIC_URL,
  QUARANTINE_RETRY_MS,
  STALE_CLAIM_MS,
  CLAIM_DEAD_AFTER_MS,
  SLACK_REPLAY_GUARD,
  SLACK_SIGNING_SECRET,
  type BrokerLogger,
} from './broker.tokens';
import { approvalUrlOf } from './views';
import { PolicyDecisions } from './policy/policy-decisions.service';
import { traced } from './observability/tracing';
import { PolicyReloader } from './policy/policy-reloader.service';
import { ApplyPolicyChange } from './use-cases/apply-policy-change.use-case';
import { ExplainPolicy } from './use-cases/explain-policy.use-case';
import { ListRequestableRoles } from './use-cases/list-requestable-roles.use-case';
import { PolicyHolder } from './policy/policy.holder';
import { DevIssuer } from './auth/dev-issuer';
import { PrincipalAuthenticator } from './auth/principal-authenticator';
import { Identities } from './auth/identities';
import { createRedisClient } from './infrastructure/redis.factory';
import { PENDING_REVOCATIONS_FILE, PendingRevocations } from './revocation/pending-revocations.service';
import { BullmqRevocationScheduler } from './revocation/bullmq-revocation-scheduler.adapter';
import { REVOCATION_SCHEDULER } from './revocation/revocation-scheduler.port';
import { CreateAccessRequest } from './use-cases/create-access-request.use-case';
import { ProviderAvailability } from './providers/provider-availability.service';
import { GetAccessRequest } from './use-cases/get-access-request.use-case';
import { LocalRequestUpdates } from './requests/local-request-updates';
import { RecentAutoApproved } from './requests/recent-auto-approved';
import { DecideRequest } from './use-cases/decide-request.use-case';
import { ClaimCredential } from './use-cases/claim-credential.use-case';
import { CancelRequest } from './use-cases/cancel-request.use-case';
import { LeaseQueries } from './use-cases/lease-queries.use-case';
import { RevokeLease } from './use-cases/revoke-lease.use-case';
import { RevokeLeaseNow } from './use-cases/revoke-lease-now.use-case';
import { RevokeSession } from './use-cases/revoke-session.use-case';
import { BreakGlass } from './use-cases/break-glass.use-case';
import { RegisterSession } from './use-cases/register-session.use-case';
import { HeartbeatSession } from './use-cases/heartbeat-session.use-case';
import { Reconcile } from './use-cases/reconcile.use-case';
import { HandOverDueRevocations } from './use-cases/hand-over-due-revocations.use-case';
import { RecoverInterruptedClaims } from './use-cases/recover-interrupted-claims.use-case';
import { ResumeBreakGlass } from './use-cases/resume-break-glass.use-case';
import { IntrospectToken } from './use-cases/introspect-token.use-case';
import { NotifyApprovers } from './use-cases/notify-approvers.service';
import { RunProviderFollowUp } from './use-cases/run-provider-follow-up.use-case';
import { DeliverNotification } from './use-cases/deliver-notification.use-case';
import { HandleSlackInteraction } from './use-cases/handle-slack-interaction.use-case';
import { AcceptSlackInteraction } from './use-cases/accept-slack-interaction.use-case';
import { BullmqNotificationQueue } from './notifications/bullmq-notification-queue.adapter';
import { NOTIFICATION_QUEUE } from './notifications/notification-queue.port';
import { ConsoleQueries } from './use-cases/console-queries.use-case';
import { DecideInConsole } from './use-cases/decide-in-console.use-case';
import { ReportSessionEvent } from './use-cases/report-session-event.use-case';
import { SessionDashboardQueries } from './use-cases/session-dashboard.use-case';
import { SweepOrphanedIdentities } from './use-cases/sweep-orphaned-identities.use-case';
import { AuditTrail } from './audit/audit-trail.use-case';
import { AuditExport } from './audit/audit-export.use-case';
import { AUDIT_RETENTION_SECONDS, AUDIT_SINK_STATE } from './audit/audit.tokens';
import { JoseCheckpointVerifier } from './audit/jose-checkpoint-verifier';
import { JoseCheckpointSigner } from './audit/jose-checkpoint-signer';
import { createAuditSinks } from './infrastructure/audit-sinks.factory';
import { BrokerStats } from './observability/broker-stats';
import { OffsetClock } from './store-health/offset-clock';
import { DrainSignal } from './shutdown/drain-signal';
import { RedisStoreInspector } from './store-health/redis-store-inspector.adapter';
import { StoreHealth } from './store-health/store-health.service';
import { STORE_HEALTH } from './store-health/store-health.tokens';

export const REDIS = Symbol('Redis');
const BUILT_PROVIDERS = Symbol('BuiltProviders');
export const AUTHENTICATOR = Symbol('PrincipalAuthenticator');

export interface BrokerModuleOptions {
  config: SharedConfig;
  logger: BrokerLogger;
  /** Data directory of the development issuer; the issuer exists only when this is set. */
  devIssuerDataDir?: string;
  /** Called after every audit append (metrics); never blocks or fails the append. */
  auditObservers?: AuditObserver[];
  /** Which process this is (store health logs and audit); 'api' when not given. */
  app?: 'api' | 'worker';
  /** Journal of revocations Redis refused (kept and retried until recorded); in memory only when absent. */
  pendingRevocationsFile?: string;
}

const USE_CASES = [
  Identities,
  CreateAccessRequest,
  ProviderAvailability,
  GetAccessRequest,
  DecideRequest,
  ClaimCredential,
  CancelRequest,
  LeaseQueries,
  RevokeLease,
  RevokeLeaseNow,
  RevokeSession,
  BreakGlass,
  RegisterSession,
  HeartbeatSession,
  Reconcile,
  HandOverDueRevocations,
  RecoverInterruptedClaims,
  ResumeBreakGlass,
  IntrospectToken,
  SweepOrphanedIdentities,
  NotifyApprovers,
  RunProviderFollowUp,
  DeliverNotification,
  HandleSlackInteraction,
  PolicyDecisions,
  ExplainPolicy,
  ListRequestableRoles,
  ApplyPolicyChange,
  PolicyReloader,
  ConsoleQueries,
  DecideInConsole,
  ReportSessionEvent,
  SessionDashboardQueries,
  AuditTrail,
  AuditExport,
  BrokerStats,
  DrainSignal,
  LocalRequestUpdates,
  RecentAutoApproved,
];

/** Wires policy, providers, leases, approvals and audit into the broker's use cases. */
@Module({})
export class BrokerModule {
  static forRoot(options: BrokerModuleOptions): DynamicModule {
    const { config } = options;
    // StoreHealth follows the chain head through this process's own appends (it is built after the log).
    let storeHealth: StoreHealth | undefined;
    const auditObservers: AuditObserver[] = [...(options.auditObservers ?? []), (e) => storeHealth?.observeAudit(e)];
    // Spans around the store and the providers only when traces are exported: no proxy otherwise.
    const withTracing = <T extends object>(target: T, prefix: string, methods?: string[]): T =>
      config.tracing ? traced(target, prefix, methods) : target;
    const providers: Provider[] = [
      { provide: BROKER_LOGGER, useValue: options.logger },
      { provide: PENDING_REVOCATIONS_FILE, useValue: options.pendingRevocationsFile },
      PendingRevocations,
      { provide: PUBLIC_URL, useValue: config.publicUrl },
      { provide: QUARANTINE_RETRY_MS, useValue: config.revocation.quarantineRetryMs },
      { provide: STALE_CLAIM_MS, useValue: config.staleClaimMs },
      { provide: CLAIM_DEAD_AFTER_MS, useValue: config.claimDeadAfterMs },
      // One clock: the local clock corrected by its offset from Redis TIME (measured by StoreHealth).
      { provide: CLOCK, useValue: new OffsetClock() },
      { provide: ID_GENERATOR, useValue: new RandomIdGenerator() },
      // Auto-pipelining: commands issued in the same tick (by concurrent requests) leave in one socket write; one
      // write per command was a fifth of the API's CPU time under the issuance load (bench/RESULTS.md).
      { provide: REDIS, useFactory: () => createRedisClient(config.redis, { enableAutoPipelining: true }) },
      {
        provide: LEASE_STORE,
        inject: [REDIS],
        useFactory: (redis: Redis | Cluster) =>
          withTracing(
            new RedisLeaseStore(redis, config.redis.prefix, config.retentionSeconds, {
              minReplicas: config.redis.minReplicas,
              timeoutMs: config.redis.replicaTimeoutMs,
            }),
            'leash.store',
          ),
      },
      {
        provide: SessionEventStore,
        inject: [REDIS],
        // 500 events per session, kept as long as the session's other records.
        useFactory: (redis: Redis | Cluster) =>
          new SessionEventStore(redis, config.redis.prefix, {
            maxEvents: 500,
            retentionSeconds: config.retentionSeconds,
          }),
      },
      {
        provide: LeaseCensus,
        inject: [REDIS],
        useFactory: (redis: Redis | Cluster) => new LeaseCensus(redis, config.redis.prefix),
      },
      {
        provide: BreakGlassStore,
        inject: [REDIS],
        useFactory: (redis: Redis | Cluster) =>
          new BreakGlassStore(redis, config.redis.prefix, config.retentionSeconds),
      },
      {
        provide: AUTO_APPROVAL_BUDGET,
        inject: [REDIS],
        useFactory: (redis: Redis | Cluster) => new AutoApprovalBudgetStore(redis, config.redis.prefix),
      },
      {
        provide: STORE_HEALTH,
        inject: [REDIS, AUDIT_LOG, CLOCK],
        useFactory: async (redis: Redis | Cluster, audit: AuditLog, clock: OffsetClock) => {
          const health = new StoreHealth(
            new RedisStoreInspector(redis, config.redis.prefix),
            audit,
            clock,
            options.logger,
            {
              app: options.app ?? 'api',
              requirePersistence: config.store.requirePersistence,
              intervalMs: config.store.checkIntervalMs,
              maxClockSkewMs: config.store.maxClockSkewMs,
            },
          );
          storeHealth = health;
          await health.start();
          return health;
        },
      },
      { provide: POLICY_WATCH, useValue: { path: config.policyPath, watch: config.policyWatch } },
      {
        provide: AUDIT_LOG,
        inject: [REDIS],
        useFactory: (redis: Redis | Cluster) => new RedisStreamAuditLog(redis, config.redis.prefix, auditObservers),
      },
      {
        provide: CHECKPOINT_STORE,
        inject: [REDIS],
        useFactory: (redis: Redis | Cluster) => new RedisCheckpointStore(redis, config.redis.prefix),
      },
      {
        provide: CHECKPOINT_SIGNER,
        useFactory: async () =>
          config.jwtKeysPath ? new JoseCheckpointSigner(await JwtKeySet.fromFile(config.jwtKeysPath)) : undefined,
      },
      {
        provide: CHECKPOINT_VERIFIER,
        useFactory: async () =>
          config.jwtKeysPath
            ? new JoseCheckpointVerifier(await JwtKeySet.fromFile(config.jwtKeysPath), config.publicUrl)
            : undefined,
      },
      { provide: AUDIT_RETENTION_SECONDS, useValue: config.audit.retentionSeconds },
      {
        provide: AUDIT_SINK_STATE,
        inject: [REDIS],
        useFactory: (redis: Redis | Cluster) => new RedisSinkState(redis, config.redis.prefix),
      },
      { provide: AUDIT_SINKS, useFactory: () => createAuditSinks(config.audit) },
      {
        provide: BUILT_PROVIDERS,
        inject: [REDIS, CLOCK],
        useFactory: (redis: Redis | Cluster, clock: OffsetClock) => createCredentialProviders(config, redis, clock),
      },
      {
        provide: JWT_PROVIDER,
        inject: [BUILT_PROVIDERS],
        useFactory: (built: BuiltProviders) => built.jwt,
      },
      {
        provide: PROVIDER_REGISTRY,
        inject: [BUILT_PROVIDERS],
        useFactory: (built: BuiltProviders) =>
          new ProviderRegistry(built.all.map((p) => withTracing(p, `leash.provider.${p.kind}`, ['issue', 'revoke']))),
      },
      {
        provide: POLICY_HOLDER,
        inject: [PROVIDER_REGISTRY],
        useFactory: (registry: ProviderRegistry) => new PolicyHolder(config.policyPath, registry),
      },
      {
        provide: DEV_ISSUER,
        useFactory: async () =>
          options.devIssuerDataDir ? DevIssuer.open(options.devIssuerDataDir, `${config.publicUrl}/dev`) : undefined,
      },
      {
        provide: AUTHENTICATOR,
        inject: [POLICY_HOLDER, DEV_ISSUER],
        useFactory: (policy: PolicyHolder, dev: DevIssuer | undefined) => new PrincipalAuthenticator(policy, dev),
      },
      {
        provide: REVOCATION_SCHEDULER,
        useFactory: () =>
          new BullmqRevocationScheduler(() => createRedisClient(config.redis, { enableOfflineQueue: true }), {
            attempts: config.revocation.attempts,
            backoffMs: config.revocation.backoffMs,
            prefix: config.redis.prefix,
          }),
      },
      {
        provide: MESSAGE_REF_STORE,
        inject: [REDIS],
        useFactory: (redis: Redis | Cluster) =>
          new RedisMessageRefStore(redis, config.redis.prefix, config.retentionSeconds),
      },
      {
        provide: PENDING_REQUEST_INDEX,
        inject: [REDIS],
        useFactory: (redis: Redis | Cluster) =>
          new WebConsoleNotifier(redis, config.redis.prefix, { log: (m) => options.logger.log(m) }),
      },
      {
        provide: NOTIFICATION_QUEUE,
        useFactory: () =>
          new BullmqNotificationQueue(() => createRedisClient(config.redis, { enableOfflineQueue: true }), {
            attempts: config.notifications.attempts,
            backoffMs: config.notifications.backoffMs,
            prefix: config.redis.prefix,
          }),
      },
      {
        provide: SLACK_RESPONDER,
        useFactory: () =>
          config.slack ? new SlackNotifier(config.slack, (id) => approvalUrlOf(config.publicUrl, id)) : undefined,
      },
      {
        provide: APPROVAL_NOTIFIERS,
        inject: [SLACK_RESPONDER, PENDING_REQUEST_INDEX],
        useFactory: (slack: SlackNotifier | undefined, web: WebConsoleNotifier): ApprovalNotifier[] => [
          web,
          ...(slack ? [slack] : []),
        ],
      },
      ...(config.slack ? slackInteractionProviders(config.slack.signingSecret, config.redis.prefix) : []),
      ...USE_CASES,
    ];
    return {
      module: BrokerModule,
      global: true,
      providers,
      exports: providers.map((p) => ('provide' in p ? p.provide : p)),
    };
  }
}

/** Interactivity exists only when Slack is configured (the signing secret verifies every callback). */
function slackInteractionProviders(signingSecret: string, prefix: string): Provider[] {
  return [
    { provide: SLACK_SIGNING_SECRET, useValue: signingSecret },
    {
      provide: SLACK_REPLAY_GUARD,
      inject: [REDIS],
      useFactory: (redis: Redis | Cluster) => new SlackReplayGuard(redis, prefix),
    },
    AcceptSlackInteraction,
  ];
}
