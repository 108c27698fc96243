import type { JsonLogger } from '@leash/core';

/** Kubernetes gives 30 s by default; the worker is gone well before. */
const EXIT_WITHIN_MS = 9_000;

/**
 * SIGTERM/SIGINT: `beginDrain` runs at once (readiness off, periodic checks stopped), then every
 * closer runs together (BullMQ workers stop taking jobs and wait for the ones running), then the
 * process exits 0; one that does not finish in time is abandoned (its job lock expires and another
 * worker takes it over).
 */
export function installWorkerShutdown(
  logger: JsonLogger,
  beginDrain: () => void,
  closers: (() => Promise<unknown>)[],
  finish: () => Promise<unknown>,
): void {
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      return;
    }
    stopping = true;
    const startedAt = Date.now();
    logger.log('leash worker stopping', { signal });
    setTimeout(() => {
      logger.warn('leash worker did not drain in time; exiting', { afterMs: Date.now() - startedAt });
      process.exit(0);
    }, EXIT_WITHIN_MS).unref();
    beginDrain();
    await Promise.allSettled(closers.map((close) => close()));
    await finish().catch(() => undefined);
    logger.log('leash worker stopped', { drainMs: Date.now() - startedAt });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
