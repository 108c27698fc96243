import type { DrainSignal, HealthProbes, StoreHealth } from '@leash/broker';

/**
 * The worker's readiness also covers the store checks (epoch, eviction policy, persistence, memory,
 * clock offset from Redis TIME), each named, and turns off at once on SIGTERM.
 */
export function withStoreReadiness(probes: HealthProbes, store: StoreHealth, drain: DrainSignal): HealthProbes {
  return {
    live: () => probes.live(),
    ready: async () => {
      const problems = store.problems();
      return {
        ...(await probes.ready()),
        store: problems.length === 0 ? 'up' : `down: ${problems.join('; ')}`,
        shutdown: drain.active ? 'down: shutting down (SIGTERM)' : 'up',
      };
    },
  };
}
