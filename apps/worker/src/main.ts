import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { JsonLogger } from '@leash/core';
import { ConfigError, loadWorkerConfig } from '@leash/config';
import { PolicyError } from '@leash/policy';
import { ProviderError } from '@leash/providers';
import {
  createRedisClient,
  DeliverNotification,
  Reconcile,
  RevokeLease,
  RunProviderFollowUp,
  SweepOrphanedIdentities,
} from '@leash/broker';
import { WorkerModule } from './worker.module';
import { startRevocationWorker } from './revocation.processor';
import { startReconciler } from './reconciler';
import { startNotificationWorker } from './notifications.processor';

async function bootstrap(): Promise<void> {
  const config = loadWorkerConfig();
  const logger = new JsonLogger('leash-worker', config.logLevel);
  const app = await NestFactory.createApplicationContext(WorkerModule.register(config, logger), {
    logger: false,
    abortOnError: false,
  });
  // BullMQ workers block on Redis: their connections must retry forever and queue while offline.
  const blocking = () =>
    createRedisClient(config.redis.url, {
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      commandTimeout: undefined,
    });
  const revoker = startRevocationWorker(
    app.get(RevokeLease),
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
  const reconcile = app.get(Reconcile);
  const reconciler = await startReconciler(
    { reconcile, followUp: app.get(RunProviderFollowUp), sweep: app.get(SweepOrphanedIdentities) },
    { queue: blocking(), worker: blocking() },
    { prefix: config.redis.prefix, intervalMs: config.reconcileIntervalMs, sweepIntervalMs: config.sweepIntervalMs },
    logger,
  );
  // Catch up at once on start: everything that expired while no worker ran.
  await reconcile.execute().catch((err: unknown) => logger.warn('initial reconcile failed', { err: String(err) }));
  logger.log('leash worker started', {
    concurrency: config.concurrency,
    reconcileIntervalMs: config.reconcileIntervalMs,
    sweepIntervalMs: config.sweepIntervalMs,
  });

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      return;
    }
    stopping = true;
    logger.log('leash worker stopping', { signal });
    const timer = setTimeout(() => process.exit(0), 10_000);
    await Promise.allSettled([revoker.close(), notifier.close(), reconciler.worker.close(), reconciler.queue.close()]);
    await app.close().catch(() => undefined);
    clearTimeout(timer);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

bootstrap().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof PolicyError || err instanceof ProviderError) {
    process.stderr.write(`leash-worker: refusing to start: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`leash-worker: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
