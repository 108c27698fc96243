import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { LeashError } from '@leash/core';
import type { BreakGlassBody, RevokeReason } from '@leash/contracts';
import { AuditError } from '@leash/audit';
import { LEASE_STORE, LeaseError, LeaseErrorCode, type LeaseStore } from '@leash/leases';
import { BROKER_LOGGER, type BrokerLogger } from '../broker.tokens';

type Actor = { id: string; channel: 'api' | 'system' | 'web' | 'slack' };

/** A revocation whose write Redis refused (out of memory, unreachable): retried until Redis takes it. */
export type PendingRevocation =
  | { kind: 'lease'; leaseId: string; reason: RevokeReason; actor: Actor }
  | { kind: 'session'; sessionId: string; actor: { id: string; channel: 'api' | 'system' } }
  | { kind: 'break_glass'; body: BreakGlassBody; actor: Actor };

type Kind = PendingRevocation['kind'];
type Handler<K extends Kind> = (job: Extract<PendingRevocation, { kind: K }>) => Promise<void>;

/** Where the pending revocations are journalled (a file of this process's data directory), if anywhere. */
export const PENDING_REVOCATIONS_FILE = Symbol('PendingRevocationsFile');

/** Thrown by a revocation that is accepted but not yet recorded: the API answers 202 problem+json. */
export class RevocationPendingError extends LeashError<'revocation_pending'> {
  readonly code = 'revocation_pending' as const;
  constructor(
    message: string,
    readonly pending: { leases: string[]; sessionId?: string },
    options?: { cause?: unknown },
  ) {
    super(
      message,
      { pendingLeases: pending.leases, ...(pending.sessionId ? { sessionId: pending.sessionId } : {}) },
      options,
    );
  }
}

/** Whether `err` says the store refused or could not take a write (so a retry later can succeed). */
export function isStoreWriteFailure(err: unknown): boolean {
  return (err instanceof LeaseError && err.code === LeaseErrorCode.StoreUnavailable) || err instanceof AuditError;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5000;
/** Pending revocations announced by other processes that this one remembers (oldest forgotten first). */
const MAX_ANNOUNCED = 200_000;
/** Longer than any lease lives: by then the lease is revoked or expired in Redis anyway. */
const ANNOUNCED_TTL_MS = 24 * 3600 * 1000;
const SUBSCRIBE_RETRY_MS = 5000;

interface Entry {
  job: PendingRevocation;
  attempts: number;
  nextAt: number;
}

/**
 * Early revocations, session ends and break glass that Redis refused (e.g. `noeviction` out of
 * memory): never dropped. Each is kept in this process, journalled to a file so a restart picks it
 * up, retried with backoff until Redis accepts it (the use case then records and audits it as
 * usual), and the leases it names introspect inactive meanwhile: in this process, and in every other
 * broker process, to which the lease ids are announced over Redis pub/sub (PUBLISH is taken even
 * out of memory) when added and again on each retry (so a replica started meanwhile learns them).
 */
@Injectable()
export class PendingRevocations implements OnModuleInit, OnModuleDestroy {
  private readonly entries = new Map<string, Entry>();
  /** Lease ids other processes announced as pending revocation, with when they were heard. */
  private readonly announced = new Map<string, number>();
  private readonly toAnnounce = new Set<string>();
  private subscribeTimer?: NodeJS.Timeout;
  private destroyed = false;
  private readonly handlers = new Map<Kind, (job: PendingRevocation) => Promise<void>>();
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    @Inject(BROKER_LOGGER) private readonly logger: BrokerLogger,
    @Inject(PENDING_REVOCATIONS_FILE) private readonly file: string | undefined,
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
  ) {
    for (const job of this.load()) {
      this.entries.set(keyOf(job), { job, attempts: 0, nextAt: 0 });
    }
    if (this.entries.size > 0) {
      this.logger.warn('pending revocations found from an earlier run; retrying them', { count: this.entries.size });
      this.schedule(FIRST_RETRY_MS);
    }
  }

  /** Called by each use case for its kind of job. */
  register<K extends Kind>(kind: K, handler: Handler<K>): void {
    this.handlers.set(kind, handler as (job: PendingRevocation) => Promise<void>);
  }

  /** Listens for other processes' pending revocations; retried until Redis takes the subscription. */
  onModuleInit(): void {
    const subscribe = (): void => {
      this.subscribeTimer = undefined;
      this.store
        .onPendingRevocations((ids) => this.heard(ids))
        .catch((err: unknown) => {
          if (!this.destroyed) {
            this.logger.warn('cannot listen for pending revocations yet; retrying', { err: String(err) });
            this.subscribeTimer = setTimeout(subscribe, SUBSCRIBE_RETRY_MS);
            this.subscribeTimer.unref();
          }
        });
    };
    subscribe();
    this.announce([...this.entries.values()].map((e) => e.job));
  }

  add(job: PendingRevocation): void {
    const key = keyOf(job);
    if (!this.entries.has(key)) {
      this.entries.set(key, { job, attempts: 0, nextAt: Date.now() + FIRST_RETRY_MS });
      this.save();
    }
    this.announce([job]);
    this.logger.warn('revocation pending: the store refused the write; retrying until it is recorded', {
      kind: job.kind,
      key,
    });
    this.schedule(FIRST_RETRY_MS);
  }

  /** Whether an early revocation of this lease is waiting to be recorded (it must not introspect active). */
  isPending(leaseId: string): boolean {
    if (this.entries.has(`lease:${leaseId}`)) {
      return true;
    }
    const heardAt = this.announced.get(leaseId);
    return heardAt !== undefined && Date.now() - heardAt < ANNOUNCED_TTL_MS;
  }

  /** Another process (or this one) announced these leases' revocations as pending. */
  private heard(leaseIds: string[]): void {
    const now = Date.now();
    for (const id of leaseIds) {
      this.announced.delete(id);
      this.announced.set(id, now);
    }
    for (const id of this.announced.keys()) {
      if (this.announced.size <= MAX_ANNOUNCED) {
        break;
      }
      this.announced.delete(id);
    }
  }

  /** Publishes the lease ids of these jobs, batched per tick; a refused publish is repeated on the next retry. */
  private announce(jobs: PendingRevocation[]): void {
    const first = this.toAnnounce.size === 0;
    jobs.forEach((job) => job.kind === 'lease' && this.toAnnounce.add(job.leaseId));
    if (!first || this.toAnnounce.size === 0) {
      return;
    }
    setImmediate(() => {
      const ids = [...this.toAnnounce];
      this.toAnnounce.clear();
      this.store.announcePendingRevocations(ids).catch((err: unknown) => {
        this.logger.warn('could not announce pending revocations to other processes; retrying', {
          count: ids.length,
          err: String(err),
        });
      });
    });
  }

  get size(): number {
    return this.entries.size;
  }

  onModuleDestroy(): void {
    this.destroyed = true;
    clearTimeout(this.timer);
    clearTimeout(this.subscribeTimer);
  }

  private schedule(inMs: number): void {
    if (this.timer || this.running) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.retryDue();
    }, inMs);
    this.timer.unref();
  }

  private async retryDue(): Promise<void> {
    this.running = true;
    // Again on each round: a replica that started since the first announcement learns them too.
    this.announce([...this.entries.values()].map((e) => e.job));
    try {
      const now = Date.now();
      for (const [key, entry] of [...this.entries]) {
        const handler = this.handlers.get(entry.job.kind);
        if (entry.nextAt > now || !handler) {
          continue;
        }
        try {
          await handler(entry.job);
          this.entries.delete(key);
          this.save();
          this.logger.warn('pending revocation recorded', { key, attempts: entry.attempts + 1 });
        } catch (err) {
          entry.attempts += 1;
          entry.nextAt = Date.now() + Math.min(FIRST_RETRY_MS * 2 ** entry.attempts, MAX_RETRY_MS);
          this.logger.warn('pending revocation still refused; will retry', {
            key,
            attempts: entry.attempts,
            err: err instanceof Error ? err.message : String(err),
          });
        }
      }
    } finally {
      this.running = false;
    }
    if (this.entries.size > 0) {
      const next = Math.min(...[...this.entries.values()].map((e) => e.nextAt));
      this.schedule(Math.max(50, next - Date.now()));
    }
  }

  private load(): PendingRevocation[] {
    if (!this.file) {
      return [];
    }
    try {
      return readFileSync(this.file, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as PendingRevocation);
    } catch {
      return [];
    }
  }

  /** Rewrites the journal (small: only what Redis refused); a failure to write it is logged, never fatal. */
  private save(): void {
    if (!this.file) {
      return;
    }
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.tmp`;
      writeFileSync(tmp, '', { mode: 0o600 });
      for (const { job } of this.entries.values()) {
        appendFileSync(tmp, `${JSON.stringify(job)}\n`);
      }
      renameSync(tmp, this.file);
    } catch (err) {
      this.logger.error('could not journal pending revocations', { err: String(err) });
    }
  }
}

function keyOf(job: PendingRevocation): string {
  switch (job.kind) {
    case 'lease':
      return `lease:${job.leaseId}`;
    case 'session':
      return `session:${job.sessionId}`;
    case 'break_glass':
      return `break_glass:${JSON.stringify(job.body)}`;
  }
}
