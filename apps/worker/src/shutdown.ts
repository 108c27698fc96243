import { exitOnTermination, type JsonLogger } from '@leash/core';

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
  exitOnTermination('leash worker', logger, async () => {
    beginDrain();
    await Promise.allSettled(closers.map((close) => close()));
    await finish().catch(() => undefined);
  });
}
