import { Injectable } from '@nestjs/common';
import { LeaseCensus } from '@leash/leases';

/** Leases and requests read per scrape at most, whatever their number (beyond it, a sample scaled to the total). */
export const STATS_SAMPLE = 2_000;

/**
 * Scrape-time counts of broker state for the metrics gauges. Bounded at any number of leases: totals
 * are the sizes of the indexes (exact); the split by environment and provider, and the share of open
 * requests that are pending, come from at most STATS_SAMPLE records (all of them below that).
 */
@Injectable()
export class BrokerStats {
  constructor(private readonly census: LeaseCensus) {}

  async leasesByState(
    state: 'active' | 'revocation_failed',
  ): Promise<{ labels: { environment: string; provider: string }; value: number }[]> {
    return (await this.census.count(state, STATS_SAMPLE)).map((c) => ({
      labels: { environment: c.environment, provider: c.provider },
      value: c.count,
    }));
  }

  /** Requests waiting for approval (the deadline index holds pending and approved requests). */
  pendingRequests(): Promise<number> {
    return this.census.pendingRequests(STATS_SAMPLE);
  }
}
