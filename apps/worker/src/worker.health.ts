import type { HealthProbes, ProbeResult, RevocationScheduler } from '@leash/broker';

const TIMEOUT_MS = 1500;

/** A queue consumer as far as health goes (BullMQ's Worker). */
export interface Consumer {
  readonly name: string;
  isRunning(): boolean;
}

/**
 * The worker's probes (served on its metrics port). Live: every queue consumer still runs (a dead
 * one needs a restart: nothing else would revoke). Ready: that, and Redis answers on the queues.
 */
export function workerHealth(consumers: Consumer[], scheduler: RevocationScheduler): HealthProbes {
  const running = (): ProbeResult =>
    Object.fromEntries(consumers.map((c) => [c.name, c.isRunning() ? 'up' : 'down: stopped']));
  return {
    live: () => Promise.resolve(running()),
    ready: async () => ({ ...running(), redis: await redisState(scheduler) }),
  };
}

async function redisState(scheduler: RevocationScheduler): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), TIMEOUT_MS);
  });
  try {
    await Promise.race([scheduler.ping(), timeout]);
    return 'up';
  } catch (err) {
    return `down: ${err instanceof Error ? err.message : 'unavailable'}`;
  } finally {
    clearTimeout(timer);
  }
}
