import type { BrokerMetrics } from '../observability/broker.metrics';
import type { StoreHealth } from './store-health.service';

/**
 * Gauges the alerts are written on (deploy/observability): keep the names. Exported by API and worker.
 */
export function registerStoreGauges(metrics: BrokerMetrics, health: StoreHealth): void {
  metrics.gauge(
    'leash_store_epoch_mismatch',
    '1 while Redis lost its data (store epoch marker gone or replaced) and the reset is not acknowledged',
    [],
    () => Promise.resolve([{ labels: {}, value: health.epochMismatch ? 1 : 0 }]),
  );
  metrics.gauge(
    'leash_redis_oom',
    '1 while Redis is out of memory (the last probe write failed with OOM, or used_memory >= maxmemory)',
    [],
    () => Promise.resolve([{ labels: {}, value: health.oom ? 1 : 0 }]),
  );
  metrics.gauge(
    'leash_store_ready',
    '1 while the store checks pass (epoch, eviction policy, persistence, memory, clock offset)',
    [],
    () => Promise.resolve([{ labels: {}, value: health.problems().length === 0 ? 1 : 0 }]),
  );
  metrics.gauge('leash_clock_offset_seconds', "This process's clock offset from Redis TIME (Redis - local)", [], () =>
    Promise.resolve(
      health.status().clockOffsetMs === undefined
        ? []
        : [{ labels: {}, value: (health.status().clockOffsetMs ?? 0) / 1000 }],
    ),
  );
}
