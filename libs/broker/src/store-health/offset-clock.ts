import type { Clock } from '@leash/core';

/**
 * Backward steps up to this size (a re-measured offset a few ms to tens of ms lower, a small NTP slew) are absorbed:
 * the clock holds still until real time catches up. A larger step (an operator setting the host clock, a first
 * offset measured far off) is followed at once, so the clock never stalls for long.
 */
export const MAX_ABSORBED_STEP_BACK_MS = 1000;

/**
 * The one clock of every broker process: the local clock corrected by its measured offset from
 * Redis TIME, so expiry, due times and recorded lag agree across API and worker replicas whatever
 * each host's clock says. StoreHealth measures the offset; until then it is 0.
 *
 * It does not run backwards over small steps: the offset is re-measured every second from one round trip, and a
 * lower measurement would otherwise move the clock back by tens of ms on a busy host, between a worker finding a
 * lease due (now ≥ expiresAt) and recording its revocation (revokedAt < expiresAt).
 */
export class OffsetClock implements Clock {
  private offset = 0;
  private last = -Infinity;

  now(): number {
    const t = Date.now() + this.offset;
    if (t < this.last && this.last - t <= MAX_ABSORBED_STEP_BACK_MS) {
      return this.last;
    }
    this.last = t;
    return t;
  }

  /** Milliseconds to add to the local clock to get Redis time. */
  get offsetMs(): number {
    return this.offset;
  }

  setOffset(ms: number): void {
    this.offset = Math.round(ms);
  }
}
