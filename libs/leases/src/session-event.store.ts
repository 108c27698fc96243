import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { defineScript, scriptCommand } from '@leash/core';
import { LeaseError, LeaseErrorCode } from './lease.errors';

/** One stored session event (already validated and redacted by the broker). */
export interface StoredSessionEvent {
  /** Redis stream id: time-ordered, the cursor of polls. */
  id: string;
  at: number;
  step?: string;
  level: string;
  kind: 'log' | 'posture';
  message: string;
  by: string;
  redacted: boolean;
}

export interface SessionEventLimits {
  /** Events kept per session (older ones are trimmed). */
  maxEvents: number;
  /** Seconds the events are kept after the last one (the session's retention). */
  retentionSeconds: number;
}

// Sliding one-minute windows per session and per principal (sorted sets of event times), trimmed,
// checked and counted in one script: a refused event counts against nothing; both keys are in {leash}.
const TAKE = `
local since = tonumber(ARGV[1]) - tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', since)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', since)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 1 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 2 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 0
`;

const WINDOW_MS = 60_000;

/** The agent-reported events of each session: a capped Redis stream per session, kept with its retention. */
export class SessionEventStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
    readonly limits: SessionEventLimits,
  ) {
    defineScript(redis, 'leashSessionEventTake', { lua: TAKE, numberOfKeys: 2 });
  }

  private key(sessionId: string): string {
    return `${this.prefix}:session:${sessionId}:events`;
  }

  /** Counts one event against the per-session and per-principal budgets of the last minute; says which is spent. */
  async take(
    sessionId: string,
    principalKey: string,
    perSession: number,
    perPrincipal: number,
    now: number,
  ): Promise<'ok' | 'session' | 'principal'> {
    const take = scriptCommand<number>(this.redis, 'leashSessionEventTake');
    const result = await this.guard(
      take(
        `${this.prefix}:rate:session-events:s:${sessionId}`,
        `${this.prefix}:rate:session-events:p:${principalKey}`,
        now,
        WINDOW_MS,
        perSession,
        perPrincipal,
        `${now}:${randomBytes(6).toString('hex')}`,
      ),
    );
    return result === 1 ? 'session' : result === 2 ? 'principal' : 'ok';
  }

  async append(sessionId: string, event: Omit<StoredSessionEvent, 'id'>): Promise<string> {
    const key = this.key(sessionId);
    const limits = this.limits;
    const replies = await this.guard(
      this.redis
        .multi()
        .xadd(key, 'MAXLEN', '=', limits.maxEvents, '*', 'e', JSON.stringify(event))
        .expire(key, limits.retentionSeconds)
        .exec(),
    );
    const [err, id] = replies?.[0] ?? [new Error('no reply'), null];
    if (err || typeof id !== 'string') {
      throw new LeaseError(LeaseErrorCode.StoreUnavailable, 'the lease store (Redis) is unavailable', {
        cause: err ?? undefined,
      });
    }
    return id;
  }

  /** Events in order, after `after` (exclusive) when given, at most `limit`; the newest when `after` is absent. */
  async list(sessionId: string, limit: number, after?: string): Promise<StoredSessionEvent[]> {
    const key = this.key(sessionId);
    const entries = after
      ? await this.guard(this.redis.xrange(key, `(${after}`, '+', 'COUNT', limit))
      : (await this.guard(this.redis.xrevrange(key, '+', '-', 'COUNT', limit))).reverse();
    return entries.flatMap(([id, fields]) => {
      const raw = fields[fields.indexOf('e') + 1];
      try {
        return [{ ...(JSON.parse(raw) as Omit<StoredSessionEvent, 'id'>), id }];
      } catch {
        return [];
      }
    });
  }

  private async guard<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (cause) {
      throw new LeaseError(LeaseErrorCode.StoreUnavailable, 'the lease store (Redis) is unavailable', { cause });
    }
  }
}
