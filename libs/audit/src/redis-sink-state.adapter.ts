import type { Cluster, Redis } from 'ioredis';
import { defineScript, scriptCommand } from '@leash/core';
import type { DeadLetter } from './audit-sink.port';
import { AuditError } from './audit.errors';

/** Only moves a sink's acknowledged cursor forward (concurrent or repeated deliveries never move it back). */
const ADVANCE = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local nxt = tonumber(ARGV[1])
if nxt > cur then
  redis.call('SET', KEYS[1], ARGV[1])
  return nxt
end
return cur
`;

/** Per-sink export state in Redis: acknowledged cursor, pause, dead letters, registered sinks. */
export class RedisSinkState {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {
    defineScript(redis, 'leashAuditAdvance', { lua: ADVANCE, numberOfKeys: 1 });
  }

  private k = {
    sinks: () => `${this.prefix}:audit:sinks`,
    acked: (s: string) => `${this.prefix}:audit:sink:${s}:acked`,
    paused: (s: string) => `${this.prefix}:audit:sink:${s}:paused`,
    dead: (s: string) => `${this.prefix}:audit:sink:${s}:dead`,
  };

  async register(names: string[]): Promise<void> {
    const tx = this.redis.multi().del(this.k.sinks());
    if (names.length > 0) {
      tx.sadd(this.k.sinks(), ...names);
    }
    await this.guard(tx.exec());
  }

  async registered(): Promise<string[]> {
    return (await this.guard(this.redis.smembers(this.k.sinks()))).sort();
  }

  async acked(sink: string): Promise<number> {
    return Number((await this.guard(this.redis.get(this.k.acked(sink)))) ?? 0);
  }

  async advance(sink: string, seq: number): Promise<void> {
    const fn = scriptCommand(this.redis, 'leashAuditAdvance');
    await this.guard(fn(this.k.acked(sink), seq));
  }

  async pausedUntil(sink: string): Promise<number | undefined> {
    const ttl = await this.guard(this.redis.pttl(this.k.paused(sink)));
    return ttl > 0 ? Date.now() + ttl : undefined;
  }

  async pause(sink: string, ms: number): Promise<void> {
    await this.guard(this.redis.set(this.k.paused(sink), '1', 'PX', ms));
  }

  async recordDeadLetter(entry: Omit<DeadLetter, 'firstFailedAt' | 'attempts'> & { attempts: number }): Promise<void> {
    const existing = await this.guard(this.redis.hget(this.k.dead(entry.sink), entry.id));
    const previous = existing ? (JSON.parse(existing) as DeadLetter) : undefined;
    const letter: DeadLetter = {
      ...entry,
      attempts: (previous?.attempts ?? 0) + entry.attempts,
      firstFailedAt: previous?.firstFailedAt ?? entry.lastFailedAt,
    };
    await this.guard(this.redis.hset(this.k.dead(entry.sink), entry.id, JSON.stringify(letter)));
  }

  /** Removes dead letters a later delivery has covered. */
  async resolveDeadLetters(sink: string, throughSeq: number): Promise<void> {
    const all = await this.deadLetters(sink);
    const done = all.filter((d) => d.fromSeq <= throughSeq).map((d) => d.id);
    if (done.length > 0) {
      await this.guard(this.redis.hdel(this.k.dead(sink), ...done));
    }
  }

  async deadLetters(sink: string): Promise<DeadLetter[]> {
    const rows = await this.guard(this.redis.hvals(this.k.dead(sink)));
    return rows.map((r) => JSON.parse(r) as DeadLetter).sort((a, b) => a.fromSeq - b.fromSeq);
  }

  private async guard<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (cause) {
      throw new AuditError('the audit export state (Redis) is unavailable', { cause });
    }
  }
}
