import type { Cluster, Redis } from 'ioredis';
import {
  AuditChainVerifier,
  chainEvent,
  defineScript,
  scriptCommand,
  type ChainPoint,
  type ChainVerification,
} from '@leash/core';
import type { AuditEvent, AuditLog, AuditObserver, AuditPage, AuditQuery, NewAuditEvent } from './audit-event';
import { AuditError } from './audit.errors';
import { matchesQuery } from './audit-query';
import * as scripts from './redis-stream-audit.scripts';

interface Pending {
  event: NewAuditEvent & { time: string };
  resolve: (e: AuditEvent) => void;
  reject: (err: unknown) => void;
}

const MAX_BATCH = 200;
const MAX_CONFLICTS = 50;
const SCAN_CHUNK = 500;
const MAX_SCANNED = 20_000;

function parseHead(raw: string | null | undefined): ChainPoint | undefined {
  if (!raw) {
    return undefined;
  }
  const [seq, hash] = raw.split(':');
  return { seq: Number(seq), hash };
}

const formatHead = (p: ChainPoint | undefined): string => (p ? `${p.seq}:${p.hash}` : '');

/**
 * Hash-chained audit log in a Redis stream whose ids are `<seq>-0`. Appends from every broker
 * replica are serialized by a compare-and-append Lua script on the chain head; within one process
 * appends are queued and committed in batches, so a conflict costs one retry per batch.
 */
export class RedisStreamAuditLog implements AuditLog {
  private queue: Pending[] = [];
  private flushing = false;
  private cachedHead?: ChainPoint;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
    private readonly observers: AuditObserver[] = [],
  ) {
    defineScript(redis, 'leashAuditAppend', { lua: scripts.APPEND, numberOfKeys: 2 });
    defineScript(redis, 'leashAuditTrim', { lua: scripts.TRIM, numberOfKeys: 2 });
  }

  private k = {
    stream: () => `${this.prefix}:audit`,
    head: () => `${this.prefix}:audit:head`,
    anchor: () => `${this.prefix}:audit:anchor`,
  };

  private script(name: string): (...args: (string | number)[]) => Promise<unknown> {
    return scriptCommand(this.redis, name);
  }

  append(event: NewAuditEvent): Promise<AuditEvent> {
    return new Promise<AuditEvent>((resolve, reject) => {
      this.queue.push({ event: { ...event, time: event.time ?? new Date().toISOString() }, resolve, reject });
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) {
      return;
    }
    this.flushing = true;
    try {
      // Appends made in the same turn (e.g. an approval and the approval it completes) join one batch: one commit.
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          const events = await this.commit(batch.map((p) => p.event));
          batch.forEach((p, i) => p.resolve(events[i]));
          for (const e of events) {
            this.notify(e);
          }
        } catch (cause) {
          this.cachedHead = undefined;
          const err =
            cause instanceof AuditError ? cause : new AuditError('the audit log (Redis) is unavailable', { cause });
          batch.forEach((p) => p.reject(err));
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private notify(event: AuditEvent): void {
    for (const observer of this.observers) {
      try {
        observer(event);
      } catch {
        // Observers are metrics and logs: they never block the audit trail.
      }
    }
  }

  private async commit(batch: (NewAuditEvent & { time: string })[]): Promise<AuditEvent[]> {
    let head = this.cachedHead ?? parseHead(await this.redis.get(this.k.head()));
    for (let attempt = 0; attempt < MAX_CONFLICTS; attempt += 1) {
      const events: AuditEvent[] = [];
      let prev = head;
      for (const e of batch) {
        const chained = chainEvent({ ...e, seq: (prev?.seq ?? 0) + 1 }, prev);
        events.push(chained);
        prev = { seq: chained.seq, hash: chained.hash };
      }
      const args = events.flatMap((e) => [e.seq, JSON.stringify(e)]);
      const reply = (await this.script('leashAuditAppend')(
        this.k.head(),
        this.k.stream(),
        formatHead(head),
        formatHead(prev),
        ...args,
      )) as [number, string?];
      if (reply[0] === 1) {
        this.cachedHead = prev;
        return events;
      }
      // Another replica appended first: rebuild the batch on its head.
      head = parseHead(reply[1]);
    }
    throw new AuditError('the audit log is too contended: could not append after repeated conflicts');
  }

  async head(): Promise<ChainPoint | undefined> {
    return parseHead(await this.guard(this.redis.get(this.k.head())));
  }

  async anchor(): Promise<ChainPoint | undefined> {
    return parseHead(await this.guard(this.redis.get(this.k.anchor())));
  }

  async range(after: number, count: number): Promise<AuditEvent[]> {
    const rows = await this.guard(this.redis.xrange(this.k.stream(), `(${after}-0`, '+', 'COUNT', count));
    return rows.map(([, fields]) => JSON.parse(fields[1]) as AuditEvent);
  }

  async list(query: AuditQuery): Promise<AuditPage> {
    const events: AuditEvent[] = [];
    let cursor = query.after ?? 0;
    let scanned = 0;
    for (;;) {
      const chunk = await this.range(cursor, SCAN_CHUNK);
      for (const e of chunk) {
        cursor = e.seq;
        scanned += 1;
        if (matchesQuery(e, query)) {
          events.push(e);
          if (events.length >= query.limit) {
            return { events, nextCursor: cursor };
          }
        }
      }
      if (chunk.length < SCAN_CHUNK) {
        return { events };
      }
      if (scanned >= MAX_SCANNED) {
        // A sparse filter: hand back what was found and where to continue.
        return { events, nextCursor: cursor };
      }
    }
  }

  async verify(checkpoints: ChainPoint[] = []): Promise<ChainVerification> {
    const anchor = await this.anchor();
    const sut = new AuditChainVerifier({ anchor, checkpoints });
    let cursor = anchor?.seq ?? 0;
    for (;;) {
      const rows = await this.guard(this.redis.xrange(this.k.stream(), `(${cursor}-0`, '+', 'COUNT', 2000));
      for (const [id, fields] of rows) {
        cursor = Number(id.split('-')[0]);
        let parsed: unknown;
        try {
          parsed = JSON.parse(fields[1]);
        } catch {
          parsed = undefined;
        }
        if (!sut.push(parsed)) {
          return sut.finish();
        }
      }
      if (rows.length < 2000) {
        return sut.finish();
      }
    }
  }

  async trimThrough(seq: number): Promise<number> {
    return Number(await this.guard(this.script('leashAuditTrim')(this.k.stream(), this.k.anchor(), seq)));
  }

  private async guard<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (cause) {
      throw new AuditError('the audit log (Redis) is unavailable', { cause });
    }
  }
}
