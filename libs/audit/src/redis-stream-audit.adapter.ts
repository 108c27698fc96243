import type { Redis } from 'ioredis';
import type { AuditEvent, AuditLog } from './audit-event';
import { AuditError } from './audit.errors';

/** Audit events in a Redis stream; the stream id is the event's sequence number. */
export class RedisStreamAuditLog implements AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get key(): string {
    return `${this.prefix}:audit`;
  }

  async append(
    event: Omit<AuditEvent, 'seq' | 'time' | 'prevHash' | 'hash'> & {
      time?: string;
    },
  ): Promise<void> {
    const full = { ...event, time: event.time ?? new Date().toISOString() };
    try {
      await this.redis.xadd(this.key, '*', 'event', JSON.stringify(full));
    } catch (cause) {
      throw new AuditError('the audit log (Redis) is unavailable', { cause });
    }
  }

  async list(options: { limit: number; requestId?: string; leaseId?: string }): Promise<AuditEvent[]> {
    const rows = await this.redis.xrevrange(this.key, '+', '-', 'COUNT', Math.min(options.limit * 20, 10000));
    return rows
      .map(([id, fields]) => ({
        ...(JSON.parse(fields[1]) as AuditEvent),
        seq: id,
      }))
      .filter(
        (e) =>
          (!options.requestId || e.requestId === options.requestId) &&
          (!options.leaseId || e.leaseId === options.leaseId),
      )
      .slice(0, options.limit)
      .reverse();
  }
}
