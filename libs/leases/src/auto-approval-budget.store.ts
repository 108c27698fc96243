import type { Cluster, Redis } from 'ioredis';
import { defineScript, scriptCommand } from '@leash/core';
import { LeaseError, LeaseErrorCode } from './lease.errors';

const WINDOW_MS = 3600 * 1000;

// Sliding one-hour window in a sorted set; trimming, counting and adding happen in one script so
// concurrent requests can never overspend the budget.
const CONSUME = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** Counts auto-approvals per principal and role per hour (the policy's auto-approval budget). */
export class AutoApprovalBudgetStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {
    defineScript(redis, 'leashBudgetConsume', { lua: CONSUME, numberOfKeys: 1 });
  }

  private key(principal: string, role: string): string {
    return `${this.prefix}:budget:${encodeURIComponent(role)}:${encodeURIComponent(principal)}`;
  }

  /** Spends one unit of the budget; false when `limit` were already spent in the last hour. */
  async tryConsume(principal: string, role: string, limit: number, now: number, token: string): Promise<boolean> {
    const consume = scriptCommand<number>(this.redis, 'leashBudgetConsume');
    const spent = await this.guard(consume(this.key(principal, role), now, WINDOW_MS, limit, token));
    return spent === 1;
  }

  /** How many auto-approvals the principal used in the last hour (read-only, for explain). */
  async used(principal: string, role: string, now: number): Promise<number> {
    return this.guard(this.redis.zcount(this.key(principal, role), `(${now - WINDOW_MS}`, '+inf'));
  }

  private async guard<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (cause) {
      throw new LeaseError(LeaseErrorCode.StoreUnavailable, 'the lease store (Redis) is unavailable', { cause });
    }
  }
}
