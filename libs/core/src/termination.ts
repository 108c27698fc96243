/** What the termination handler logs through (JsonLogger and the broker's logger both fit). */
export interface TerminationLogger {
  log(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
}

/** Kubernetes gives 30 s by default; a Leash process is gone well before. */
const EXIT_WITHIN_MS = 9_000;

/**
 * On the first SIGTERM/SIGINT runs `drain` once and exits 0; a drain that does not finish within 9 s is
 * abandoned and the process exits 0 all the same. Not SIGHUP: the API reloads its policy on it.
 */
export function exitOnTermination(name: string, logger: TerminationLogger, drain: () => Promise<void>): void {
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      return;
    }
    stopping = true;
    const startedAt = Date.now();
    logger.log(`${name} stopping`, { signal });
    setTimeout(() => {
      logger.warn(`${name} did not drain in time; exiting`, { afterMs: Date.now() - startedAt });
      process.exit(0);
    }, EXIT_WITHIN_MS).unref();
    await drain();
    logger.log(`${name} stopped`, { drainMs: Date.now() - startedAt });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
