import { Queue, Worker, type Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { JsonLogger } from '@leash/core';
import type { AuditConfig } from '@leash/config';
import { AUDIT_EXPORT_QUEUE, JobName, type AuditExportJob } from '@leash/contracts';
import type { AuditExport } from '@leash/broker';

/**
 * Audit export through BullMQ: one job per sink and cursor (`<sink>-<after>`), so a sink has at
 * most one batch in flight, retried with exponential backoff; the last failed attempt dead-letters
 * the batch and pauses the sink (its cursor does not move, so nothing is skipped).
 */
export class AuditExportQueue {
  readonly queue: Queue<AuditExportJob>;
  readonly worker: Worker<AuditExportJob>;
  private registered = false;

  constructor(
    private readonly exporter: AuditExport,
    connections: { queue: Redis | Cluster; worker: Redis | Cluster },
    private readonly options: { prefix: string; audit: AuditConfig },
    private readonly logger: JsonLogger,
  ) {
    const prefix = `${options.prefix}:bull`;
    this.queue = new Queue<AuditExportJob>(AUDIT_EXPORT_QUEUE, { connection: connections.queue, prefix });
    this.queue.on('error', (err) => logger.warn('audit export queue error', { err: err.message }));
    this.worker = new Worker<AuditExportJob>(AUDIT_EXPORT_QUEUE, (job) => this.process(job), {
      connection: connections.worker,
      prefix,
      concurrency: 4,
    });
    this.worker.on('error', (err) => logger.warn('audit export worker error', { err: err.message }));
    this.worker.on('failed', (job, err) =>
      logger.warn('audit export attempt failed', {
        sink: job?.data.sink,
        attempt: job?.attemptsMade,
        err: err.message,
      }),
    );
  }

  /** Enqueues a batch for every sink that has undelivered events. */
  async dispatch(): Promise<number> {
    if (!this.registered) {
      // Operators (GET /v1/audit/sinks) see the sinks this deployment exports to.
      await this.exporter.register();
      this.registered = true;
    }
    const due = await this.exporter.due();
    for (const d of due) {
      await this.enqueue(d);
    }
    return due.length;
  }

  private async enqueue(data: AuditExportJob): Promise<void> {
    const { attempts, backoffMs } = this.options.audit.export;
    await this.queue.add(JobName.AuditExport, data, {
      jobId: `${data.sink}-${data.after}`,
      attempts,
      backoff: { type: 'exponential', delay: backoffMs },
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  private async process(job: Job<AuditExportJob>): Promise<number> {
    const attempts = job.opts.attempts ?? 1;
    const result = await this.exporter.exportBatch({
      sink: job.data.sink,
      after: job.data.after,
      batchSize: this.options.audit.export.batchSize,
      final: job.attemptsMade + 1 >= attempts,
      attempt: job.attemptsMade + 1,
      deadLetterPauseMs: this.options.audit.export.deadLetterPauseMs,
    });
    if (result.more) {
      await this.enqueue({ sink: job.data.sink, after: result.ackedSeq });
    }
    return result.delivered;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.worker.close(), this.queue.close()]);
  }
}
