import type { JobsOptions, Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { CoreError, CoreErrorCode } from '@leash/core';
import { createHash } from 'node:crypto';
import {
  JobName,
  MAINTENANCE_QUEUE,
  REVOCATION_QUEUE,
  type ProviderFollowUpJob,
  type RevokeLeaseJob,
  type RevokeReason,
} from '@leash/contracts';
import { RebuildingQueue } from '../infrastructure/rebuilding-queue.adapter';
import type { RevocationScheduler } from './revocation-scheduler.port';
import { traceCarrier } from '../observability/tracing';

/** Jobs per addBulk call (one MULTI): big enough to be cheap, small enough not to stall Redis. */
const HAND_OVER_BATCH = 500;

export interface RevocationQueueOptions {
  attempts: number;
  backoffMs: number;
  prefix: string;
}

/** BullMQ producer of revocation jobs and provider follow-ups (the worker consumes them). */
export class BullmqRevocationScheduler implements RevocationScheduler {
  private readonly revocations: RebuildingQueue<RevokeLeaseJob>;
  private readonly maintenance: RebuildingQueue<ProviderFollowUpJob>;

  constructor(
    connect: () => Redis | Cluster,
    private readonly options: RevocationQueueOptions,
  ) {
    this.revocations = new RebuildingQueue<RevokeLeaseJob>(REVOCATION_QUEUE, connect, options.prefix);
    this.maintenance = new RebuildingQueue<ProviderFollowUpJob>(MAINTENANCE_QUEUE, connect, options.prefix);
  }

  private async guard<T>(op: (queue: Queue<RevokeLeaseJob>) => Promise<T>): Promise<T> {
    try {
      return await this.revocations.use(op);
    } catch (cause) {
      throw new CoreError(CoreErrorCode.Unavailable, 'the revocation queue (Redis) is unavailable', {}, { cause });
    }
  }

  private jobOptions(leaseId: string, delay: number): JobsOptions {
    return {
      jobId: leaseId,
      delay: Math.max(0, delay),
      attempts: this.options.attempts,
      backoff: { type: 'exponential', delay: this.options.backoffMs },
      removeOnComplete: true,
      removeOnFail: true,
    };
  }

  async scheduleAtExpiry(leaseId: string, expiresAt: number, now: number): Promise<void> {
    // The issuance's trace context (if traced) rides along, so the revocation joins its trace.
    const trace = traceCarrier();
    const data: RevokeLeaseJob = {
      leaseId,
      reason: 'expired',
      actor: 'system',
      ...(Object.keys(trace).length > 0 ? { trace } : {}),
    };
    await this.guard((q) => q.add(JobName.RevokeLease, data, this.jobOptions(leaseId, expiresAt - now)));
  }

  async scheduleDue(
    leases: { id: string; expiresAt: number; trace?: Record<string, string> }[],
    now: number,
  ): Promise<void> {
    for (let i = 0; i < leases.length; i += HAND_OVER_BATCH) {
      const jobs = leases.slice(i, i + HAND_OVER_BATCH).map((l) => {
        const data: RevokeLeaseJob = {
          leaseId: l.id,
          reason: 'expired',
          actor: 'system',
          ...(l.trace ? { trace: l.trace } : {}),
        };
        return { name: JobName.RevokeLease, data, opts: this.jobOptions(l.id, l.expiresAt - now) };
      });
      await this.guard((q) => q.addBulk(jobs));
    }
  }

  async cancel(leaseId: string): Promise<void> {
    // A job that is running right now cannot be removed; it re-reads the lease and finds it revoked.
    await this.guard((q) => q.remove(leaseId)).catch(() => undefined);
  }

  revokeSoon(leaseId: string, reason: RevokeReason): Promise<void> {
    return this.guard(async (q) => {
      const existing = await q.getJob(leaseId);
      if (existing && (await existing.isDelayed())) {
        await existing.promote().catch(() => undefined);
        return;
      }
      if (existing && ((await existing.isCompleted()) || (await existing.isFailed()))) {
        await existing.remove().catch(() => undefined);
      }
      await q.add(JobName.RevokeLease, { leaseId, reason, actor: 'system' }, this.jobOptions(leaseId, 0));
    });
  }

  ensureScheduled(leaseId: string, reason: RevokeReason): Promise<void> {
    return this.guard(async (q) => {
      const existing = await q.getJob(leaseId);
      if (existing && !(await existing.isCompleted()) && !(await existing.isFailed())) {
        // Overdue on the one clock (Redis TIME) but still delayed: BullMQ timed it on the producer's
        // own clock, which may be behind. Run it now; a retry waiting out its backoff keeps waiting.
        if (existing.attemptsMade === 0 && (await existing.isDelayed())) {
          await existing.promote().catch(() => undefined);
        }
        return;
      }
      await existing?.remove().catch(() => undefined);
      await q.add(JobName.RevokeLease, { leaseId, reason, actor: 'system' }, this.jobOptions(leaseId, 0));
    });
  }

  async scheduleFollowUp(job: ProviderFollowUpJob, at: number, now: number): Promise<void> {
    // Job ids must not contain ':'; one job per key and time makes repeated scheduling idempotent.
    const key = createHash('sha256').update(job.key).digest('hex').slice(0, 24);
    const jobId = `follow-up-${job.provider}-${key}-${Math.floor(at / 1000)}`;
    try {
      await this.maintenance.use((queue) =>
        queue.add(JobName.ProviderFollowUp, job, {
          jobId,
          delay: Math.max(0, at - now),
          attempts: 20,
          backoff: { type: 'exponential', delay: this.options.backoffMs },
          removeOnComplete: true,
          removeOnFail: 1000,
        }),
      );
    } catch (cause) {
      throw new CoreError(CoreErrorCode.Unavailable, 'the maintenance queue (Redis) is unavailable', {}, { cause });
    }
  }

  async ping(): Promise<void> {
    await this.guard((q) => q.getJobCounts('delayed'));
  }

  async close(): Promise<void> {
    await this.maintenance.close();
    await this.revocations.close();
  }
}
