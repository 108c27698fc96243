import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { JobName, REVOCATION_QUEUE, type RevokeLeaseJob, type RevokeReason } from '@leash/contracts';
import type { RevocationScheduler } from './revocation-scheduler.port';

export interface RevocationQueueOptions {
  attempts: number;
  backoffMs: number;
  prefix: string;
}

/** BullMQ producer of revocation jobs (the worker consumes them). */
export class BullmqRevocationScheduler implements RevocationScheduler {
  readonly queue: Queue<RevokeLeaseJob>;

  constructor(
    connection: Redis,
    private readonly options: RevocationQueueOptions,
  ) {
    this.queue = new Queue<RevokeLeaseJob>(REVOCATION_QUEUE, {
      connection,
      prefix: `${options.prefix}:bull`,
      skipWaitingForReady: true,
    });
    this.queue.on('error', () => undefined);
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
    const data: RevokeLeaseJob = { leaseId, reason: 'expired', actor: 'system' };
    await this.queue.add(JobName.RevokeLease, data, this.jobOptions(leaseId, expiresAt - now));
  }

  async cancel(leaseId: string): Promise<void> {
    try {
      await this.queue.remove(leaseId);
    } catch {
      // The job is running right now; it re-reads the lease and finds it revoked.
    }
  }

  async revokeSoon(leaseId: string, reason: RevokeReason): Promise<void> {
    const existing = await this.queue.getJob(leaseId);
    if (existing && (await existing.isDelayed())) {
      await existing.promote().catch(() => undefined);
      return;
    }
    if (existing && ((await existing.isCompleted()) || (await existing.isFailed()))) {
      await existing.remove().catch(() => undefined);
    }
    await this.queue.add(JobName.RevokeLease, { leaseId, reason, actor: 'system' }, this.jobOptions(leaseId, 0));
  }

  async ensureScheduled(leaseId: string, reason: RevokeReason): Promise<void> {
    const existing = await this.queue.getJob(leaseId);
    if (existing && !(await existing.isCompleted()) && !(await existing.isFailed())) {
      return;
    }
    await existing?.remove().catch(() => undefined);
    await this.queue.add(JobName.RevokeLease, { leaseId, reason, actor: 'system' }, this.jobOptions(leaseId, 0));
  }

  async ping(): Promise<void> {
    await this.queue.getJobCounts('delayed');
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
