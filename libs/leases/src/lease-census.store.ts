import type { Cluster, Redis } from 'ioredis';
import { defineScript, scriptCommand } from '@leash/core';
import { LeaseError, LeaseErrorCode } from './lease.errors';

/**
 * Counts the environment and provider of the given leases. KEYS: one lease hash per lease. Returns
 * {environment, provider, count, …} flattened (records written before hold them in `data` JSON).
 */
const COUNT_KINDS = `
local counts, order = {}, {}
for i = 1, #KEYS do
  local f = redis.call('HMGET', KEYS[i], 'e', 'p', 'data')
  local e, p = f[1], f[2]
  if not e and f[3] then
    local d = cjson.decode(f[3])
    e, p = d.environment, d.provider
  end
  if e then
    local k = e .. '\\0' .. (p or '')
    if not counts[k] then
      counts[k] = 0
      order[#order + 1] = {e, p or ''}
    end
    counts[k] = counts[k] + 1
  end
end
local out = {}
for _, ep in ipairs(order) do
  out[#out + 1] = ep[1]
  out[#out + 1] = ep[2]
  out[#out + 1] = counts[ep[1] .. '\\0' .. ep[2]]
end
return out
`;

/** How many of the given requests (KEYS: request hashes) are pending. */
const COUNT_PENDING = `
local n, found = 0, 0
for i = 1, #KEYS do
  local state = redis.call('HGET', KEYS[i], 'state')
  if state then found = found + 1 end
  if state == 'pending' then n = n + 1 end
end
return {n, found}
`;

/** Leases of one environment and provider: exact when the index holds at most the sample, else estimated. */
export interface LeaseCount {
  environment: string;
  provider: string;
  count: number;
}

/** Ids per script call (a script holds Redis while it runs). */
const STEP = 500;

/**
 * Bounded counts of the unrevoked-lease indexes for the metrics: the total is the index's size
 * (exact at any number of leases); the split by environment and provider reads at most `sample`
 * leases (all of them when there are no more, else a random sample scaled to the total).
 */
export class LeaseCensus {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {
    // Without numberOfKeys: the key count (one per lease) is the first argument.
    defineScript(redis, 'leashCountKinds', { lua: COUNT_KINDS });
    defineScript(redis, 'leashCountPending', { lua: COUNT_PENDING });
  }

  /** Ids of `index`: all when it holds at most `sample`, else a random sample of that many. */
  private async ids(index: string, total: number, sample: number): Promise<string[]> {
    return total <= sample
      ? this.redis.zrange(index, '0', '-1')
      : ((await this.redis.call('ZRANDMEMBER', index, String(sample))) as string[]);
  }

  /**
   * Requests waiting for approval: the deadline index holds the open ones (pending and approved, its
   * size is exact); the share of pending ones is read from at most `sample` of them.
   */
  async pendingRequests(sample: number): Promise<number> {
    const index = `${this.prefix}:req:deadlines`;
    try {
      const total = await this.redis.zcard(index);
      if (total === 0) {
        return 0;
      }
      const ids = await this.ids(index, total, sample);
      let [pending, found] = [0, 0];
      for (let i = 0; i < ids.length; i += STEP) {
        const keys = ids.slice(i, i + STEP).map((id) => `${this.prefix}:req:${id}`);
        const [n, f] = (await scriptCommand(this.redis, 'leashCountPending')(keys.length, ...keys)) as [number, number];
        pending += Number(n);
        found += Number(f);
      }
      return found === 0 ? 0 : Math.round((pending * total) / found);
    } catch (cause) {
      throw new LeaseError(LeaseErrorCode.StoreUnavailable, 'the lease store (Redis) is unavailable', { cause });
    }
  }

  async count(state: 'active' | 'revocation_failed', sample: number): Promise<LeaseCount[]> {
    const index = `${this.prefix}:leases:${state === 'active' ? 'expiry' : 'quarantine'}`;
    try {
      const total = await this.redis.zcard(index);
      if (total === 0) {
        return [];
      }
      const ids = await this.ids(index, total, sample);
      const counts = new Map<string, LeaseCount>();
      let seen = 0;
      for (let i = 0; i < ids.length; i += STEP) {
        const keys = ids.slice(i, i + STEP).map((id) => `${this.prefix}:lease:${id}`);
        const flat = (await scriptCommand(this.redis, 'leashCountKinds')(keys.length, ...keys)) as (string | number)[];
        for (let j = 0; j < flat.length; j += 3) {
          const [environment, provider, n] = [String(flat[j]), String(flat[j + 1]), Number(flat[j + 2])];
          const key = `${environment}\u0000${provider}`;
          const c = counts.get(key) ?? { environment, provider, count: 0 };
          c.count += n;
          counts.set(key, c);
          seen += n;
        }
      }
      return scaled([...counts.values()], seen, total);
    } catch (cause) {
      throw new LeaseError(LeaseErrorCode.StoreUnavailable, 'the lease store (Redis) is unavailable', { cause });
    }
  }
}

/** Counts of a sample of `seen` scaled to `total` in whole leases that add up to it (largest remainders). */
function scaled(counts: LeaseCount[], seen: number, total: number): LeaseCount[] {
  if (seen === 0 || seen === total) {
    return counts;
  }
  const exact = counts.map((c) => (c.count * total) / seen);
  const out = counts.map((c, i) => ({ ...c, count: Math.floor(exact[i]) }));
  let left = total - out.reduce((a, c) => a + c.count, 0);
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i]).sort((a, b) => b[0] - a[0]);
  for (const [, i] of byRemainder) {
    if (left <= 0) {
      break;
    }
    out[i].count += 1;
    left -= 1;
  }
  return out;
}
