import { Inject, Injectable } from '@nestjs/common';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';

const LIMIT = 10_000;

/** Scrape-time counts of broker state for the metrics gauges (bounded: at most 10,000 of each). */
@Injectable()
export class BrokerStats {
  constructor(@Inject(LEASE_STORE) private readonly store: LeaseStore) {}

  async leasesByState(
    state: 'active' | 'revocation_failed',
  ): Promise<{ labels: { environment: string; provider: string }; value: number }[]> {
    const counts = new Map<string, number>();
    for (const lease of await this.store.listLeases({ state, limit: LIMIT })) {
      const key = `${lease.environment}\u0000${lease.provider}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([key, value]) => {
      const [environment, provider] = key.split('\u0000');
      return { labels: { environment, provider }, value };
    });
  }

  /** Requests waiting for approval (the deadline index holds pending and approved requests). */
  async pendingRequests(): Promise<number> {
    const ids = await this.store.overdueRequests(Number.MAX_SAFE_INTEGER, LIMIT);
    let pending = 0;
    for (const id of ids) {
      if ((await this.store.getRequest(id))?.request.state === 'pending') {
        pending += 1;
      }
    }
    return pending;
  }
}
