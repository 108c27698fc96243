import { Queue, Worker, type Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { JsonLogger } from '@leash/core';
import { JobName, MAINTENANCE_QUEUE, type ProviderFollowUpJob } from '@leash/contracts';
import type {
  AuditTrail,
  BrokerMetrics,
  Reconcile,
  ReconcileReport,
  RunProviderFollowUp,
  SweepOrphanedIdentities,
} from '@leash/broker';
import type { AuditExportQueue } from './audit-export.processor';

export interface MaintenanceTasks {
  reconcile: Reconcile;
  followUp: RunProviderFollowUp;
  sweep: SweepOrphanedIdentities;
  audit: AuditTrail;
  exports: AuditExportQueue;
  trim: () => Promise<number>;
  metrics: BrokerMetrics;
  /** Checkpoint once this many audit events were appended since the last checkpoint. */
  checkpointEveryEvents: number;
}

/**
 * Periodic maintenance as BullMQ job schedulers (one run of each at a time across all workers):
 * the reconciler, the orphaned-identity sweep, audit export dispatch, and audit checkpoints (which also apply retention); and
 * delayed provider follow-ups (e.g. pruning the AWS deny policy).
 */
export async function startReconciler(
  tasks: MaintenanceTasks,
  connections: { queue: Redis | Cluster; worker: Redis | Cluster },
  options: {
    prefix: string;
    intervalMs: number;
    checkpointIntervalMs: number;
    sweepIntervalMs: number;
    schedulerCheckMs: number;
  },
  logger: JsonLogger,
): Promise<{ queue: Queue; worker: Worker; watch: NodeJS.Timeout }> {
  const prefix = `${options.prefix}:bull`;
  const queue = new Queue(MAINTENANCE_QUEUE, {
    connection: connections.queue,
    prefix,
  });
  queue.on('error', (err) => logger.warn('maintenance queue error', { err: err.message }));
  const schedules: [string, number][] = [
    [JobName.Reconcile, options.intervalMs],
    [JobName.AuditDispatch, 1000],
    [JobName.AuditCheckpoint, options.checkpointIntervalMs],
    [JobName.SweepIdentities, options.sweepIntervalMs],
  ];
  const schedule = (name: string, every: number) =>
    queue.upsertJobScheduler(name, { every }, { name, opts: { removeOnComplete: true, removeOnFail: 100 } });
  for (const [name, every] of schedules) {
    await schedule(name, every);
  }
  // A wiped or replaced Redis loses the schedulers; the running worker puts back the missing ones.
  const watch = setInterval(() => {
    void (async () => {
      for (const [name, every] of schedules) {
        if (!(await queue.getJobScheduler(name))) {
          await schedule(name, every);
          logger.error('job scheduler was missing in Redis and is re-created', { scheduler: name });
        }
      }
    })().catch(() => undefined);
  }, options.schedulerCheckMs);
  watch.unref();
  const worker = new Worker(MAINTENANCE_QUEUE, (job: Job) => run(job, tasks, logger), {
    connection: connections.worker,
    prefix,
    concurrency: 1,
  });
  worker.on('error', (err) => logger.warn('maintenance worker error', { err: err.message }));
  worker.on('failed', (job, err) => logger.warn('maintenance run failed', { job: job?.name, err: err.message }));
  return { queue, worker, watch };
}

async function run(job: Job, tasks: MaintenanceTasks, logger: JsonLogger): Promise<unknown> {
  switch (job.name) {
    case JobName.ProviderFollowUp: {
      const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      return tasks.followUp.execute(job.data as ProviderFollowUpJob, final);
    }
    case JobName.Reconcile:
      return runReconcile(tasks);
    case JobName.SweepIdentities:
      return tasks.sweep.execute();
    case JobName.AuditDispatch: {
      // Checkpoints by count as well as by time, so the unsigned tail of the chain stays short.
      await tasks.audit.checkpointIfBehind(tasks.checkpointEveryEvents).catch((err: unknown) => {
        logger.warn('audit checkpoint failed', { err: String(err) });
      });
      return tasks.exports.dispatch();
    }
    case JobName.AuditCheckpoint: {
      const checkpoint = await tasks.audit.checkpoint(false).catch((err: unknown) => {
        logger.warn('audit checkpoint failed', { err: String(err) });
        return undefined;
      });
      const trimmed = await tasks.trim();
      return { checkpoint: checkpoint?.seq, trimmed };
    }
    default:
      return undefined;
  }
}

export async function runReconcile(tasks: Pick<MaintenanceTasks, 'reconcile' | 'metrics'>): Promise<ReconcileReport> {
  try {
    const report = await tasks.reconcile.execute();
    tasks.metrics.reconciled(report, 'ok');
    return report;
  } catch (err) {
    tasks.metrics.reconciled(undefined, 'error');
    throw err;
  }
}
