import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '@leash/core';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { REVOCATION_SCHEDULER, type RevocationScheduler } from '../revocation/revocation-scheduler.port';

/** How far ahead of their expiry active leases get their revocation job. */
export const HAND_OVER_LEAD_MS = 5000;
/** How often the worker runs the hand-over (a BullMQ job scheduler). */
export const HAND_OVER_EVERY_MS = 1000;
const BATCH = 10_000;
/** The hand-over counts as behind when it has not committed for this long (two of its periods and a half). */
const HAND_OVER_BEHIND_MS = 2500;

export interface HandOverReport {
  handedOver: number;
  upto: number;
}

/**
 * Moves the leases of the expiry index that fall due within the lead into delayed revocation jobs
 * (jobId = lease id), so a BullMQ job exists only for leases about to expire instead of one per
 * active lease. The reservation is committed only once the jobs exist: a worker that dies in between
 * leaves the range to the next run, and a job lost afterwards is re-created by the reconciler.
 */
@Injectable()
export class HandOverDueRevocations {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(REVOCATION_SCHEDULER) private readonly scheduler: RevocationScheduler,
  ) {}

  /**
   * Runs the hand-over if its job has fallen behind (the worker running it died, its job waits for
   * BullMQ's stalled check): called by every worker's reconciler, so leases due within the lead still
   * get their job before they are due. Two runs at once are harmless (jobs are keyed by lease id).
   */
  async catchUp(): Promise<HandOverReport | undefined> {
    const upto = await this.store.handedOverUpTo();
    if (upto !== undefined && upto >= this.clock.now() + HAND_OVER_LEAD_MS - HAND_OVER_BEHIND_MS) {
      return undefined;
    }
    return this.execute();
  }

  async execute(): Promise<HandOverReport> {
    let handedOver = 0;
    const until = this.clock.now() + HAND_OVER_LEAD_MS;
    for (;;) {
      const due = await this.store.reserveDue(until, BATCH);
      if (due.leases.length > 0) {
        await this.scheduler.scheduleDue(due.leases, this.clock.now());
      }
      await this.store.commitDue(due.upto);
      handedOver += due.leases.length;
      if (due.upto >= until) {
        return { handedOver, upto: due.upto };
      }
    }
  }
}
