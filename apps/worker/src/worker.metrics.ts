import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { AUDIT_EXPORT_QUEUE, MAINTENANCE_QUEUE, REVOCATION_QUEUE } from '@leash/contracts';
import type { AuditTrail, BrokerMetrics, BrokerStats } from '@leash/broker';

const STATES = ['waiting', 'delayed', 'active', 'failed'] as const;

/** The worker's scrape-time gauges: lease and request state, queue depths, audit export backlog. */
export function registerWorkerGauges(
  metrics: BrokerMetrics,
  stats: BrokerStats,
  audit: AuditTrail,
  connection: Redis | Cluster,
  prefix: string,
): Queue[] {
  const queues = [REVOCATION_QUEUE, MAINTENANCE_QUEUE, AUDIT_EXPORT_QUEUE].map(
    (name) => new Queue(name, { connection, prefix: `${prefix}:bull` }),
  );
  metrics.gauge(
    'leash_active_leases',
    'Leases active now, by environment and provider',
    ['environment', 'provider'],
    () => stats.leasesByState('active'),
  );
  metrics.gauge(
    'leash_quarantined_leases',
    'Leases quarantined as revocation_failed (alert: operators must act)',
    ['environment', 'provider'],
    () => stats.leasesByState('revocation_failed'),
  );
  metrics.gauge('leash_pending_requests', 'Requests waiting for approval', [], async () => [
    { labels: {}, value: await stats.pendingRequests() },
  ]);
  metrics.gauge('leash_queue_jobs', 'BullMQ jobs by queue and state', ['queue', 'state'], async () => {
    const out: { labels: { queue: string; state: string }; value: number }[] = [];
    for (const queue of queues) {
      const counts = await queue.getJobCounts(...STATES);
      for (const state of STATES) {
        out.push({ labels: { queue: queue.name, state }, value: counts[state] ?? 0 });
      }
    }
    return out;
  });
  metrics.gauge(
    'leash_audit_sink_backlog',
    'Audit events not yet acknowledged by each export sink',
    ['sink'],
    async () => (await audit.sinkStates()).map((s) => ({ labels: { sink: s.name }, value: s.backlog })),
  );
  metrics.gauge('leash_audit_dead_letters', 'Audit export batches dead-lettered per sink', ['sink'], async () =>
    (await audit.sinkStates()).map((s) => ({ labels: { sink: s.name }, value: s.deadLetters.length })),
  );
  return queues;
}
