import type { Clock } from '@leash/core';

/**
 * The one clock of every broker process: the local clock corrected by its measured offset from
 * Redis TIME, so expiry, due times and recorded lag agree across API and worker replicas whatever
 * each host's clock says. StoreHealth measures the offset; until then it is 0.
 */
export class OffsetClock implements Clock {
  private offset = 0;

  now(): number {
    return Date.now() + this.offset;
  }

  /** Milliseconds to add to the local clock to get Redis time. */
  get offsetMs(): number {
    return this.offset;
  }

  setOffset(ms: number): void {
    this.offset = Math.round(ms);
  }
}
