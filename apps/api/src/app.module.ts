import { join } from 'node:path';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import type { Logger as Pino } from 'pino';
import type { Cluster, Redis } from 'ioredis';
import type { ApiConfig } from '@leash/config';
import { API_CONFIG } from '@leash/config';
import { BrokerModule, REDIS, type BrokerLogger, type BrokerMetrics } from '@leash/broker';
import { IdempotencyStore } from '@leash/leases';
import { RATE_LIMITER } from './http/auth.guard';
import { IDEMPOTENCY_STORE, IdempotentCalls } from './http/idempotency';
import { ProblemFilter } from './http/problem.filter';
import { RateLimiter } from './http/rate-limiter';
import { RequestsController } from './requests/requests.controller';
import { LeasesController } from './leases/leases.controller';
import { SessionsController } from './sessions/sessions.controller';
import { TokensController } from './tokens/tokens.controller';
import { IntrospectionAuthenticator } from './tokens/introspection-auth';
import { DevTokensController } from './dev/dev-tokens.controller';
import { HealthController } from './health/health.controller';
import { PolicyController } from './policy/policy.controller';
import { RolesController } from './roles/roles.controller';
import { AuditController } from './audit/audit.controller';
import { AdminController } from './admin/admin.controller';
import { apiLoggerModule } from './observability/logging';
import { TracingInterceptor } from './observability/tracing.interceptor';
import { DocsController } from './docs/docs.controller';
import { SLACK_LOGGER, SlackInteractionsController } from './slack/slack-interactions.controller';
import { API_LOGGER } from './http/api-logger';
import { ConsoleAssetsController } from './console/console-assets.controller';
import { ConsoleAuthController } from './console/console-auth.controller';
import { ConsoleDevLoginController } from './console/console-dev-login.controller';
import { ConsolePagesController } from './console/console-pages.controller';
import { CONSOLE_SESSIONS, ConsoleSessionStore } from './console/console-session.store';
import { CONSOLE_SETTINGS, consoleSettingsOf } from './console/console-settings';
import { OIDC_LOGIN, OidcLogin } from './console/oidc-login.service';

@Module({})
export class AppModule {
  static register(config: ApiConfig, logger: BrokerLogger, pino: Pino, metrics: BrokerMetrics): DynamicModule {
    return {
      module: AppModule,
      imports: [
        apiLoggerModule(pino),
        TerminusModule.forRoot({ logger: false }),
        BrokerModule.forRoot({
          config,
          logger,
          auditObservers: [metrics.observe],
          pendingRevocationsFile: join(config.dataDir, 'pending-revocations.jsonl'),
          ...(config.devIssuer ? { devIssuerDataDir: config.dataDir } : {}),
        }),
      ],
      controllers: [
        RequestsController,
        LeasesController,
        SessionsController,
        PolicyController,
        RolesController,
        TokensController,
        HealthController,
        AuditController,
        AdminController,
        DocsController,
        ConsoleAuthController,
        ConsolePagesController,
        ConsoleAssetsController,
        // The development issuer's routes exist only when it is enabled.
        ...(config.devIssuer ? [DevTokensController, ConsoleDevLoginController] : []),
        // Slack interactivity exists only when Slack is configured.
        ...(config.slack ? [SlackInteractionsController] : []),
      ],
      providers: [
        { provide: API_CONFIG, useValue: config },
        { provide: SLACK_LOGGER, useValue: logger },
        { provide: API_LOGGER, useValue: logger },
        { provide: CONSOLE_SETTINGS, useValue: consoleSettingsOf(config) },
        {
          provide: CONSOLE_SESSIONS,
          inject: [REDIS],
          useFactory: (redis: Redis | Cluster) =>
            new ConsoleSessionStore(redis, config.redis.prefix, config.console.sessionTtlSeconds),
        },
        {
          provide: OIDC_LOGIN,
          useFactory: () =>
            config.console.oidc
              ? new OidcLogin(config.console.oidc, `${config.publicUrl}/console/callback`)
              : undefined,
        },
        {
          provide: RATE_LIMITER,
          useValue: new RateLimiter(config.rateLimitPerMinute),
        },
        {
          provide: IDEMPOTENCY_STORE,
          inject: [REDIS],
          useFactory: (redis: Redis | Cluster) => new IdempotencyStore(redis, config.redis.prefix),
        },
        IdempotentCalls,
        IntrospectionAuthenticator,
        { provide: APP_FILTER, useFactory: () => new ProblemFilter(logger) },
        // Outermost, so the call's span is active in every other interceptor and the handler.
        ...(config.tracing ? [{ provide: APP_INTERCEPTOR, useClass: TracingInterceptor }] : []),
      ],
    };
  }
}
