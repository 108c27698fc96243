import { randomUUID } from 'node:crypto';
import type { AuditLog } from '@leash/audit';
import { CoreError, CoreErrorCode } from '@leash/core';
import type { BrokerLogger } from '../broker.tokens';
import type { OffsetClock } from './offset-clock';
import type { EpochRecord, RedisStoreInspector, StoreSnapshot } from './redis-store-inspector.adapter';

export interface StoreHealthOptions {
  /** Which process this is (logged and audited). */
  app: 'api' | 'worker';
  /** Refuse readiness unless Redis persists (AOF or RDB). */
  requirePersistence: boolean;
  intervalMs: number;
  /** A local clock further than this from Redis TIME refuses readiness. */
  maxClockSkewMs: number;
}

/** Round trips slower than this give no usable clock offset. */
const MAX_TIME_RTT_MS = 250;
/** How often a persisting problem is logged again at error level. */
const RELOG_MS = 60_000;

/** The operator's acknowledgement of a reset (see README "Store epoch"). */
export const ACKNOWLEDGE_HINT = "redis-cli HSET '{leash}:store:epoch' acknowledgedBy <your name>";

/**
 * Watches the Redis the broker depends on, in every process: the store epoch marker (Redis wiped
 * or replaced), eviction policy and persistence, out-of-memory, and this process's clock offset
 * from Redis TIME. Readiness fails while any of them is wrong, and issuance while the store is not
 * the one credentials were recorded in or cannot take writes.
 */
export class StoreHealth {
  private known?: EpochRecord;
  private lastHead?: string;
  private foreign = false;
  private snapshot?: StoreSnapshot;
  private unreachable?: string;
  private clockOffsetMs?: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly logged = new Map<string, number>();

  constructor(
    private readonly inspector: RedisStoreInspector,
    private readonly audit: AuditLog,
    private readonly clock: OffsetClock,
    private readonly logger: BrokerLogger,
    private readonly options: StoreHealthOptions,
  ) {}

  /** Audit observer: every event this process appends moves the last known chain head. */
  readonly observeAudit = (e: { seq: number; hash: string }): void => {
    const seq = this.lastHead ? Number(this.lastHead.split(':')[0]) : 0;
    if (e.seq > seq) {
      this.lastHead = `${e.seq}:${e.hash}`;
    }
  };

  /** Runs the first check (bounded) and then one every interval. */
  async start(firstCheckTimeoutMs = 5000): Promise<void> {
    // Until the epoch is known (created or adopted) nothing may be written: data written before the first
    // successful probe would make that probe mistake a fresh store for a wiped one. Retry until it is known.
    const deadline = Date.now() + firstCheckTimeoutMs;
    while (!this.known && Date.now() < deadline) {
      await Promise.race([this.check(), sleep(Math.max(0, deadline - Date.now()))]);
      if (!this.known) {
        await sleep(100);
      }
    }
    this.timer = setInterval(() => void this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** 1 while the store is not the one this deployment recorded its leases in (wiped, replaced), until acknowledged. */
  get epochMismatch(): boolean {
    const e = this.snapshot?.epoch;
    return this.foreign || (e !== undefined && e.resetFrom !== undefined && !e.acknowledgedBy);
  }

  /** Redis refused the last probe write for lack of memory, or its used memory reached maxmemory. */
  get oom(): boolean {
    const s = this.snapshot;
    if (!s) {
      return false;
    }
    const { usedBytes, maxBytes } = s.memory;
    return s.writeOom || (maxBytes !== undefined && maxBytes > 0 && usedBytes !== undefined && usedBytes >= maxBytes);
  }

  /** Everything that keeps this process from being ready, in words an operator can act on. */
  problems(): string[] {
    const out: string[] = [];
    if (this.unreachable !== undefined || !this.snapshot) {
      out.push(`redis: ${this.unreachable ?? 'not checked yet'}`);
      return out;
    }
    if (this.epochMismatch) {
      out.push(this.epochProblem());
    }
    if (this.oom) {
      out.push(
        'redis is out of memory (used_memory >= maxmemory or a write was refused with OOM): nothing can be recorded',
      );
    }
    out.push(...this.configProblems(this.snapshot));
    if (this.clockOffsetMs !== undefined && Math.abs(this.clockOffsetMs) > this.options.maxClockSkewMs) {
      out.push(
        `this process's clock is ${this.clockOffsetMs > 0 ? 'behind' : 'ahead of'} Redis TIME by ` +
          `${Math.abs(this.clockOffsetMs)} ms (more than ${this.options.maxClockSkewMs} ms): fix NTP on this host`,
      );
    }
    return out;
  }

  /** For readiness endpoints: the problems and the measured values. */
  status(): { ready: boolean; problems: string[]; epoch?: string; clockOffsetMs?: number } {
    const problems = this.problems();
    return {
      ready: problems.length === 0,
      problems,
      ...(this.snapshot?.epoch ? { epoch: this.snapshot.epoch.id } : {}),
      ...(this.clockOffsetMs !== undefined ? { clockOffsetMs: this.clockOffsetMs } : {}),
    };
  }

  /** Issuance fails closed (503) while the store lost its data or cannot record anything. */
  assertIssuable(): void {
    if (!this.known) {
      throw new CoreError(CoreErrorCode.Unavailable, 'the store epoch is not verified yet (Redis not reached since start)');
    }
    if (this.epochMismatch) {
      throw new CoreError(CoreErrorCode.Unavailable, this.epochProblem());
    }
    if (this.oom) {
      throw new CoreError(CoreErrorCode.Unavailable, 'redis is out of memory: no credential is issued');
    }
  }

  /** One probe; never throws (an unreachable Redis is a problem, not a crash). */
  check(): Promise<void> {
    this.running ??= this.probe().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async probe(): Promise<void> {
    try {
      await this.measureClock();
      const snap = await this.inspector.snapshot();
      await this.followEpoch(snap);
      this.snapshot = snap;
      this.unreachable = undefined;
      if (snap.auditHead) {
        this.lastHead = snap.auditHead;
      }
      await this.auditAcknowledgement(snap);
      for (const problem of this.problems()) {
        this.report(problem);
      }
    } catch (err) {
      this.unreachable = err instanceof Error ? err.message : String(err);
    }
  }

  private async measureClock(): Promise<void> {
    const t = await this.inspector.time();
    if (t.receivedAt - t.sentAt > MAX_TIME_RTT_MS) {
      return;
    }
    this.clockOffsetMs = Math.round(t.redisMs - (t.sentAt + t.receivedAt) / 2);
    this.clock.setOffset(this.clockOffsetMs);
  }

  private async followEpoch(snap: StoreSnapshot): Promise<void> {
    const epoch = snap.epoch;
    if (!epoch) {
      if (this.known || snap.hasData) {
        // The marker is gone: Redis was wiped, replaced by an empty one, or the marker was evicted.
        const previous = this.known?.id ?? 'unknown';
        // Losing the race to another process still means a reset: the next probe adopts its record.
        snap.epoch = (await this.declareReset(previous)) ?? { id: 'pending', createdAt: 0, resetFrom: previous };
        return;
      }
      const fresh: EpochRecord = { id: randomUUID(), createdAt: this.clock.now() };
      if (await this.inspector.createEpoch(fresh)) {
        this.logger.log('store epoch created (first start on this Redis)', { epoch: fresh.id });
        snap.epoch = fresh;
      }
      this.known = snap.epoch;
      return;
    }
    if (this.known && epoch.id !== this.known.id && epoch.resetFrom !== this.known.id) {
      // Another store entirely (its own history): nothing here may be trusted until a restart adopts it.
      this.foreign = true;
      return;
    }
    this.foreign = false;
    this.known = epoch;
  }

  private async declareReset(previous: string): Promise<EpochRecord | undefined> {
    const record: EpochRecord = {
      id: randomUUID(),
      createdAt: this.clock.now(),
      resetFrom: previous,
      lastKnownHead: this.lastHead ?? '',
    };
    if (!(await this.inspector.createEpoch(record))) {
      // Another process declared it first; the next probe adopts its record.
      return undefined;
    }
    this.known = record;
    const linked = this.lastHead ? await this.inspector.linkAuditChain(this.lastHead) : false;
    this.logger.error('redis store reset detected: the store epoch marker is gone (Redis wiped or replaced)', {
      previousEpoch: previous,
      epoch: record.id,
      lastKnownAuditHead: this.lastHead ?? null,
      detectedBy: this.options.app,
      acknowledge: ACKNOWLEDGE_HINT,
    });
    await this.audit
      .append({
        actor: { id: 'system', channel: 'system' },
        action: 'store.reset',
        details: {
          previousEpoch: previous,
          epoch: record.id,
          lastKnownHead: this.lastHead ?? null,
          chainLinked: linked,
          detectedBy: this.options.app,
          note:
            'Redis lost its data (wiped, replaced or evicted): leases, requests and denylist entries recorded ' +
            'before are gone; introspection treats earlier tokens as inactive',
        },
      })
      .catch((err: unknown) => this.logger.error('could not audit the store reset', { err: String(err) }));
    return record;
  }

  private async auditAcknowledgement(snap: StoreSnapshot): Promise<void> {
    const e = snap.epoch;
    if (!e?.resetFrom || !e.acknowledgedBy || !(await this.inspector.claimAcknowledgementAudit())) {
      return;
    }
    this.logger.log('store reset acknowledged', { epoch: e.id, by: e.acknowledgedBy });
    await this.audit
      .append({
        actor: { id: e.acknowledgedBy, channel: 'system' },
        action: 'store.reset_acknowledged',
        details: { epoch: e.id, previousEpoch: e.resetFrom },
      })
      .catch(() => undefined);
  }

  private epochProblem(): string {
    return this.foreign
      ? 'store epoch changed: this Redis is not the store this process started with (replaced); restart after checking'
      : `store epoch mismatch: Redis lost its data (wiped or replaced) since epoch ${this.snapshot?.epoch?.resetFrom}; ` +
          `acknowledge with: ${ACKNOWLEDGE_HINT}`;
  }

  private configProblems(s: StoreSnapshot): string[] {
    const out: string[] = [];
    if (s.memory.policy !== undefined && s.memory.policy !== 'noeviction') {
      out.push(`redis maxmemory-policy is ${s.memory.policy}: it must be noeviction (evicted keys lose leases)`);
    }
    if (this.options.requirePersistence && s.persistence.aof !== true && s.persistence.rdb !== true) {
      out.push(
        'redis persistence is off (appendonly no and save ""): turn on appendonly yes ' +
          '(LEASH_REQUIRE_PERSISTENCE=true)',
      );
    }
    return out;
  }

  /** Error-level log when a problem appears, and again every minute while it lasts. */
  private report(problem: string): void {
    const key = problem.replace(/\d+/g, '#');
    const last = this.logged.get(key);
    const now = Date.now();
    if (last === undefined || now - last >= RELOG_MS) {
      this.logged.set(key, now);
      this.logger.error('redis store not ready', { problem, app: this.options.app });
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
