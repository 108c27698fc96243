import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '@leash/core';
import { AUDIT_LOG, AUDIT_SINKS, type AuditLog, type AuditSink, type RedisSinkState } from '@leash/audit';
import { BROKER_LOGGER, type BrokerLogger } from '../broker.tokens';
import { AUDIT_SINK_STATE } from './audit.tokens';

export interface ExportBatchCommand {
  sink: string;
  after: number;
  batchSize: number;
  /** The queue's last attempt: a failure then becomes a dead letter and pauses the sink. */
  final: boolean;
  attempt: number;
  deadLetterPauseMs: number;
}

/**
 * Delivers the audit trail to every export sink, at least once and in order: each sink has an
 * acknowledged cursor in Redis that moves only after the sink accepted a batch. Retention trims
 * only events that every sink acknowledged.
 */
@Injectable()
export class AuditExport {
  constructor(
    @Inject(AUDIT_LOG) private readonly log: AuditLog,
    @Inject(AUDIT_SINKS) private readonly sinks: AuditSink[],
    @Inject(AUDIT_SINK_STATE) private readonly state: RedisSinkState,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(BROKER_LOGGER) private readonly logger: BrokerLogger,
  ) {}

  get sinkNames(): string[] {
    return this.sinks.map((s) => s.name);
  }

  register(): Promise<void> {
    return this.state.register(this.sinkNames);
  }

  /** Sinks with undelivered events and not paused, with their cursors. */
  async due(): Promise<{ sink: string; after: number }[]> {
    const head = (await this.log.head())?.seq ?? 0;
    const out: { sink: string; after: number }[] = [];
    for (const sink of this.sinks) {
      const acked = await this.state.acked(sink.name);
      if (acked < head && (await this.state.pausedUntil(sink.name)) === undefined) {
        out.push({ sink: sink.name, after: acked });
      }
    }
    return out;
  }

  /** Delivers one batch; returns the new cursor and whether more events wait. */
  async exportBatch(cmd: ExportBatchCommand): Promise<{ delivered: number; ackedSeq: number; more: boolean }> {
    const sink = this.sinks.find((s) => s.name === cmd.sink);
    if (!sink) {
      return { delivered: 0, ackedSeq: cmd.after, more: false };
    }
    const acked = await this.state.acked(sink.name);
    const events = await this.log.range(Math.max(acked, cmd.after), cmd.batchSize);
    if (events.length === 0) {
      return { delivered: 0, ackedSeq: acked, more: false };
    }
    const last = events[events.length - 1].seq;
    try {
      await sink.deliver(events);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      if (cmd.final) {
        await this.state.recordDeadLetter({
          id: `${sink.name}-${events[0].seq}`,
          sink: sink.name,
          fromSeq: events[0].seq,
          toSeq: last,
          attempts: cmd.attempt,
          error,
          lastFailedAt: new Date(this.clock.now()).toISOString(),
        });
        await this.state.pause(sink.name, cmd.deadLetterPauseMs);
        this.logger.error('audit export batch dead-lettered; the sink is paused and will be retried', {
          sink: sink.name,
          fromSeq: events[0].seq,
          toSeq: last,
          error,
        });
      }
      throw err;
    }
    await this.state.advance(sink.name, last);
    await this.state.resolveDeadLetters(sink.name, last);
    return { delivered: events.length, ackedSeq: last, more: events.length === cmd.batchSize };
  }

  /** Trims events older than the retention that every sink acknowledged; without sinks nothing is trimmed. */
  async trim(retentionSeconds: number): Promise<number> {
    if (this.sinks.length === 0) {
      return 0;
    }
    const acked = Math.min(...(await Promise.all(this.sinks.map((s) => this.state.acked(s.name)))));
    const cutoff = new Date(this.clock.now() - retentionSeconds * 1000).toISOString();
    let through = 0;
    let cursor = (await this.log.anchor())?.seq ?? 0;
    while (cursor < acked) {
      const chunk = await this.log.range(cursor, Math.min(1000, acked - cursor));
      const old = chunk.filter((e) => e.seq <= acked && e.time < cutoff);
      if (old.length === 0) {
        break;
      }
      through = old[old.length - 1].seq;
      if (old.length < chunk.length || chunk.length === 0) {
        break;
      }
      cursor = chunk[chunk.length - 1].seq;
    }
    return through > 0 ? this.log.trimThrough(through) : 0;
  }
}
