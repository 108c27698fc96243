import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { JsonLogger, logProcessWarnings } from '@leash/core';
import { ConfigError, loadWorkerConfig } from '@leash/config';
import { PolicyError } from '@leash/policy';
import { ProviderError } from '@leash/providers';
import {
  AuditExport,
  AuditTrail,
  BrokerMetrics,
  BrokerStats,
  createRedisClient,
  DeliverNotification,
  DrainSignal,
  HandOverDueRevocations,
  registerStoreGauges,
  STORE_HEALTH,
  type StoreHealth,
  Reconcile,
  REVOCATION_SCHEDULER,
  type RevocationScheduler,
  RevokeLease,
  RunProviderFollowUp,
  SweepOrphanedIdentities,
  serveMetrics,
  startTracing,
} from '@leash/broker';
import { WorkerModule } from './worker.module';
import { startRevocationWorker } from './revocation.processor';
import { runReconcile, startReconciler } from './reconciler';
import { startHandOverScheduler } from './hand-over.scheduler';
import { startNotificationWorker } from './notifications.processor';
import { AuditExportQueue } from './audit-export.processor';
import { registerWorkerGauges } from './worker.metrics';
import { workerHealth } from './worker.health';
import { installWorkerShutdown } from './shutdown';
import { withStoreReadiness } from './store-readiness';

async function bootstrap(): Promise<void> {
  const config = loadWorkerConfig();
  const logger = new JsonLogger('leash-worker', config.logLevel);
  logProcessWarnings(logger);
  const metrics = new BrokerMetrics('worker');
  const tracing = startTracing(config.tracing, 'leash-worker');
  const app = await NestFactory.createApplicationContext(WorkerModule.register(config, logger, metrics), {
    logger: false,
    abortOnError: false,
  });
  // BullMQ workers block on Redis: their connections must retry forever and queue while offline.
  const blocking = () =>
    createRedisClient(config.redis, {
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      commandTimeout: undefined,
    });
  const revoker = startRevocationWorker(
    app.get(RevokeLease),
    app.get(HandOverDueRevocations),
    blocking(),
    { prefix: config.redis.prefix, concurrency: config.concurrency },
    logger,
  );
  const notifier = startNotificationWorker(
    app.get(DeliverNotification),
    blocking(),
    // Few at a time: Slack rate-limits per method (about one message per second per channel).
    { prefix: config.redis.prefix, concurrency: 4 },
    logger,
  );
  const exporter = app.get(AuditExport);
  const exports = new AuditExportQueue(
    exporter,
    { queue: blocking(), worker: blocking() },
    { prefix: config.redis.prefix, audit: config.audit },
    logger,
  );
  const reconcile = app.get(Reconcile);
  const audit = app.get(AuditTrail);
  const tasks = {
    reconcile,
    followUp: app.get(RunProviderFollowUp),
    sweep: app.get(SweepOrphanedIdentities),
    audit,
    exports,
    metrics,
    trim: () => exporter.trim(config.audit.retentionSeconds),
    checkpointEveryEvents: config.audit.checkpointEveryEvents,
  };
  const reconciler = await startReconciler(
    tasks,
    { queue: blocking(), worker: blocking() },
    {
      prefix: config.redis.prefix,
      intervalMs: config.reconcileIntervalMs,
      checkpointIntervalMs: config.audit.checkpointIntervalMs,
      sweepIntervalMs: config.sweepIntervalMs,
      schedulerCheckMs: config.store.checkIntervalMs * 5,
    },
    logger,
  );
  const handOver = await startHandOverScheduler(
    blocking(),
    { prefix: config.redis.prefix, checkMs: config.store.checkIntervalMs * 5 },
    logger,
  );
  const gaugeQueues = registerWorkerGauges(metrics, app.get(BrokerStats), audit, blocking(), config.redis.prefix);
  const health = app.get<typeof STORE_HEALTH, StoreHealth>(STORE_HEALTH);
  registerStoreGauges(metrics, health);
  const metricsServer =
    config.metrics.port === undefined
      ? undefined
      : await serveMetrics(
          metrics.registry,
          config.metrics.host,
          config.metrics.port,
          withStoreReadiness(
            workerHealth([revoker, notifier, reconciler.worker], app.get<RevocationScheduler>(REVOCATION_SCHEDULER)),
            health,
            app.get(DrainSignal),
          ),
        );
  // Catch up at once on start: everything that expired while no worker ran.
  await runReconcile(tasks).catch((err: unknown) => logger.warn('initial reconcile failed', { err: String(err) }));
  await app
    .get(HandOverDueRevocations)
    .execute()
    .catch((err: unknown) => logger.warn('initial hand-over failed', { err: String(err) }));
  logger.log('leash worker started', {
    concurrency: config.concurrency,
    reconcileIntervalMs: config.reconcileIntervalMs,
    sweepIntervalMs: config.sweepIntervalMs,
    auditSinks: exporter.sinkNames,
    ...(metricsServer ? { metricsUrl: metricsServer.url } : {}),
  });

  installWorkerShutdown(
    logger,
    () => {
      app.get(DrainSignal).begin();
      health.stop();
      clearInterval(reconciler.watch);
      clearInterval(handOver.watch);
    },
    [
      () => new Promise((resolve) => metricsServer?.server.close(resolve) ?? resolve(undefined)),
      () => revoker.close(),
      () => notifier.close(),
      () => reconciler.worker.close(),
      () => reconciler.queue.close(),
      () => handOver.queue.close(),
      () => exports.close(),
      ...gaugeQueues.map((q) => () => q.close()),
    ],
    async () => {
      await app.close();
      await tracing.shutdown().catch(() => undefined);
    },
  );
}

bootstrap().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof PolicyError || err instanceof ProviderError) {
    process.stderr.write(`leash-worker: refusing to start: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`leash-worker: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
