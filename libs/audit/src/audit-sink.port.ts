import type { AuditEvent } from './audit-event';

/**
 * An export destination. `deliver` resolves only once the destination has durably accepted every
 * event of the batch; it may be called again with events already delivered (at-least-once), so
 * destinations deduplicate by `seq`.
 */
export interface AuditSink {
  readonly name: string;
  deliver(events: AuditEvent[]): Promise<void>;
}

/** A batch that exhausted its retries; the sink's cursor stays before it until it is delivered. */
export interface DeadLetter {
  id: string;
  sink: string;
  fromSeq: number;
  toSeq: number;
  attempts: number;
  error: string;
  firstFailedAt: string;
  lastFailedAt: string;
}

export interface SinkStatus {
  name: string;
  ackedSeq: number;
  backlog: number;
  pausedUntil?: string;
  deadLetters: DeadLetter[];
}

export const AUDIT_SINKS = Symbol('AuditSinks');
