import { hostname } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import {
  CLOCK,
  CoreError,
  CoreErrorCode,
  randomBase32,
  type Channel,
  type Clock,
  type Lease,
  type Principal,
} from '@leash/core';
import type { BreakGlassBody, BreakGlassResult } from '@leash/contracts';
import { BreakGlassStore, LEASE_STORE, type BreakGlassRun, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditLeaseRef, type AuditLog, type NewAuditEvent } from '@leash/audit';
import { leaseRevokedEvent } from '../revocation/lease-revoked-event';
import type {
  CredentialProvider,
  ProviderRegistry,
  RevocationReport,
  RevokeCommand as ProviderRevokeCommand,
} from '@leash/providers';
import { forbidden } from '../access-control';
import { Identities } from '../auth/identities';
import {
  BROKER_LOGGER,
  CLAIM_DEAD_AFTER_MS,
  POLICY_HOLDER,
  PROVIDER_REGISTRY,
  type BrokerLogger,
} from '../broker.tokens';
import type { PolicyHolder } from '../policy/policy.holder';
import { REVOCATION_SCHEDULER, type RevocationScheduler } from '../revocation/revocation-scheduler.port';
import { glassFence } from '../revocation/fences';
import {
  isStoreWriteFailure,
  PendingRevocations,
  RevocationPendingError,
} from '../revocation/pending-revocations.service';
import { errorText } from './revoke-lease-now.use-case';
import { CancelRequest } from './cancel-request.use-case';
import { RevokeLease } from './revoke-lease.use-case';

type Selector = Pick<BreakGlassBody, 'environment' | 'role' | 'principal'>;
type Unrevoked = { lease: Lease; handle: Record<string, unknown> };
type Actor = { id: string; channel: Channel };

const BATCH = 500;
/** Ids per step of the walk through the indexes (ZSCAN COUNT): one script over about this many leases. */
const SCAN_COUNT = 1000;
/** Leases revoked at once through their provider; bounded so a large break glass does not flood the providers. */
const CONCURRENCY = 16;
/** Audit events read per call when a run taken over looks for what it already audited. */
const AUDIT_READ = 200;
/** Leases one `lease.revoked` event of a break glass names (an event per this many, not one per lease). */
export const BREAK_GLASS_AUDIT_CHUNK = 200;
/** Ids the answer names per list; the counts say how many there are in all. */
export const BREAK_GLASS_SAMPLE = 1000;

function matches(s: Selector, x: { environment: string; role: string; principal: string }): boolean {
  return (
    (s.environment === undefined || x.environment === s.environment) &&
    (s.role === undefined || x.role === s.role) &&
    (s.principal === undefined || x.principal === s.principal)
  );
}

/** Counts of a run and the first ids of each list (the answer stays bounded at any number of leases). */
class Tally {
  revokedCount = 0;
  pendingCount = 0;
  readonly revokedLeases: string[] = [];
  readonly pendingLeases: string[] = [];
  cancelledCount = 0;
  readonly cancelledRequests: string[] = [];
  /** Another process took the run over (this one stopped heartbeating in time). */
  lost = false;

  cancelled(id: string): void {
    this.cancelledCount += 1;
    if (this.cancelledRequests.length < BREAK_GLASS_SAMPLE) {
      this.cancelledRequests.push(id);
    }
  }

  revoked(id: string): void {
    this.revokedCount += 1;
    if (this.revokedLeases.length < BREAK_GLASS_SAMPLE) {
      this.revokedLeases.push(id);
    }
  }

  pending(id: string): void {
    this.pendingCount += 1;
    if (this.pendingLeases.length < BREAK_GLASS_SAMPLE) {
      this.pendingLeases.push(id);
    }
  }

  result(
    run: BreakGlassRun,
    selector: Selector,
    measures: BreakGlassResult['measures'],
    warnings: string[],
  ): BreakGlassResult {
    return {
      id: run.id,
      selector,
      startedAt: new Date(run.startedAt).toISOString(),
      revokedLeases: this.revokedLeases,
      pendingLeases: this.pendingLeases,
      cancelledRequests: this.cancelledRequests,
      counts: {
        revokedLeases: this.revokedCount,
        pendingLeases: this.pendingCount,
        cancelledRequests: this.cancelledCount,
      },
      truncated:
        this.revokedCount > this.revokedLeases.length ||
        this.pendingCount > this.pendingLeases.length ||
        this.cancelledCount > this.cancelledRequests.length,
      measures,
      warnings,
    };
  }
}

/**
 * Break glass (admins): revokes every unrevoked lease matching the selector and cancels every open
 * request matching it, so nothing new is issued from an approval given before. It walks the
 * unrevoked-lease indexes in bounded batches: leases of record-only providers (JWT) are revoked by
 * one script per batch; providers with a wider measure (AWS role cut-off) take it, and the other
 * providers' leases are revoked one by one. Every lease is audited as usual; the answer carries
 * counts and a bounded sample of ids. The run is recorded before it starts and heartbeated: if its
 * process dies, the reconciler finishes it.
 */
@Injectable()
export class BreakGlass {
  private readonly owner = `${hostname()}/${process.pid}/${randomBase32(8)}`;

  constructor(
    @Inject(POLICY_HOLDER) private readonly policy: PolicyHolder,
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(PROVIDER_REGISTRY) private readonly providers: ProviderRegistry,
    @Inject(REVOCATION_SCHEDULER) private readonly scheduler: RevocationScheduler,
    @Inject(BROKER_LOGGER) private readonly logger: BrokerLogger,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CLAIM_DEAD_AFTER_MS) private readonly deadAfterMs: number,
    private readonly runs: BreakGlassStore,
    private readonly revoke: RevokeLease,
    private readonly cancel: CancelRequest,
    private readonly identities: Identities,
    private readonly pending: PendingRevocations,
  ) {
    pending.register('break_glass', async (job) => {
      await this.start(job.actor, job.body);
    });
  }

  async execute(cmd: { principal: Principal; body: BreakGlassBody; channel?: Channel }): Promise<BreakGlassResult> {
    if (!this.identities.isAdmin(cmd.principal)) {
      throw forbidden('only admins may break glass');
    }
    const actor = { id: cmd.principal.id, channel: cmd.channel ?? 'api' } as const;
    try {
      return await this.start(actor, cmd.body);
    } catch (err) {
      const unreachable = err instanceof CoreError && err.code === CoreErrorCode.Unavailable;
      if (!isStoreWriteFailure(err) && !unreachable) {
        throw err;
      }
      return this.keepPending(actor, cmd.body, err);
    }
  }

  /** The id of the process running break glass runs here (the reconciler takes dead runs over for it). */
  get processOwner(): string {
    return this.owner;
  }

  /**
   * Redis refused a write (out of memory): the whole break glass is kept and run again until it
   * completes; the leases it selects introspect inactive meanwhile. The caller gets 202 pending.
   */
  private async keepPending(actor: Actor, body: BreakGlassBody, err: unknown): Promise<never> {
    const { reason: _reason, ...selector } = body;
    const leases: string[] = [];
    for await (const batch of this.store.unrevokedLeases(BATCH)) {
      leases.push(...batch.filter((item) => matches(selector, item.lease)).map((item) => item.lease.id));
    }
    for (const leaseId of leases) {
      this.pending.add({ kind: 'lease', leaseId, reason: 'break_glass', actor });
    }
    this.pending.add({ kind: 'break_glass', body, actor });
    throw new RevocationPendingError(
      `the store refused to record break glass (${errorText(err)}); it is retried until every matching lease is ` +
        `revoked, and those ${leases.length} lease(s) are treated as revoked meanwhile`,
      { leases },
      { cause: err },
    );
  }

  /**
   * Records the run first (so an interrupted one is finished by the reconciler), raises the fence,
   * then walks the indexes. Answers counts and a bounded sample of the ids.
   */
  private async start(actor: Actor, body: BreakGlassBody): Promise<BreakGlassResult> {
    const { reason, ...selector } = body;
    const run: BreakGlassRun = {
      id: `glass-${randomBase32(20)}`,
      selector,
      ...(reason ? { reason } : {}),
      actor,
      startedAt: this.clock.now(),
      resumed: 0,
      // Where its audit events start: a process that takes the run over reads what it already audited from here.
      auditFrom: (await this.audit.head())?.seq ?? 0,
    };
    await this.runs.start(run, this.owner, run.startedAt + this.deadAfterMs);
    // Before anything is listed: a claim in flight that records its lease later sees this fence.
    await this.store.raiseFences([glassFence(selector)], run.startedAt);
    return this.run(run);
  }

  /** Finishes a run whose process stopped heartbeating it (the reconciler took it over). */
  async resume(run: BreakGlassRun): Promise<BreakGlassResult> {
    this.logger.warn('break glass: finishing a run its process left unfinished', { run: run.id, resumed: run.resumed });
    return this.run(run);
  }

  private async run(run: BreakGlassRun): Promise<BreakGlassResult> {
    const { selector, actor } = run;
    const tally = new Tally();
    const heartbeat = setInterval(
      () => {
        void this.runs
          .heartbeat(run.id, this.owner, this.clock.now() + this.deadAfterMs)
          .then((mine) => {
            tally.lost ||= !mine;
          })
          .catch(() => undefined);
      },
      Math.max(200, Math.floor(this.deadAfterMs / 3)),
    );
    heartbeat.unref();
    try {
      // Requests first: an approved request cancelled now cannot be claimed while its siblings are revoked.
      await this.cancelOpenRequests(selector, actor.id, tally);
      // Leases an earlier process of this run revoked but died before auditing.
      await this.auditLeftovers(run, tally);
      const unrecallable = new Map<string, Lease[]>();
      const unreachable: string[] = [];
      const { matching, others } = await this.walk(run, tally, { unreachable, unrecallable });
      // Providers with a wider measure take it, then their leases are revoked one by one, as the others.
      const measures: BreakGlassResult['measures'] = [];
      const covered = await this.providerMeasures(matching, others, measures);
      await this.revokeAll(matching, covered, actor, tally, { unreachable, unrecallable });
      measures.push(...unrecallableMeasures(unrecallable));
      const result = tally.result(run, selector, measures, this.unknownToPolicy(selector));
      await this.report(run, result, unreachable.length);
      return result;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * One walk through the unrevoked leases, a bounded batch at a time: leases of record-only
   * providers (JWT) are marked revoked by the batch's script and audited; matching leases of the
   * other providers are revoked through their provider with the batch, except those of providers
   * with a wider measure, which are returned with the non-matching leases of those providers (the
   * measure needs the whole selection). So only those are held in memory, not every match.
   */
  private async walk(
    run: BreakGlassRun,
    tally: Tally,
    seen: { unreachable: string[]; unrecallable: Map<string, Lease[]> },
  ): Promise<{ matching: Unrevoked[]; others: Map<string, ProviderRevokeCommand[]> }> {
    const all = this.providers.all();
    const recordOnly = all.filter((p) => p.recordOnly).map((p) => p.kind);
    const widerMeasure = all.filter((p) => p.breakGlass !== undefined).map((p) => p.kind);
    const matching: Unrevoked[] = [];
    const others = new Map<string, ProviderRevokeCommand[]>();
    // The denylist entries and audit event of one batch are written while the next batch's script runs
    // (Redis and the API each work at once); the batch's script noted its leases as unaudited first.
    let previous: Promise<void> = Promise.resolve();
    try {
      // Quarantined leases first: a lease whose revocation fails during the active pass is quarantined
      // then, and is not taken up a second time by this walk.
      for (const index of ['quarantine', 'active'] as const) {
        let cursor = '0';
        do {
          if (tally.lost) {
            throw new CoreError(CoreErrorCode.Conflict, `break glass ${run.id} was taken over by another process`);
          }
          const batch = await this.runs.batch(run.id, index, cursor, SCAN_COUNT, {
            selector: run.selector,
            recordOnly,
            widerMeasure,
            now: this.clock.now(),
            reason: 'break_glass',
          });
          cursor = batch.cursor;
          await previous;
          previous = this.recorded(batch.revoked, run, tally);
          // Awaited above on the next turn (or below); a rejection is not left unhandled meanwhile.
          previous.catch(() => undefined);
          const wide = batch.matching.filter((item) => widerMeasure.includes(item.lease.provider));
          matching.push(...wide);
          const plain = batch.matching.filter((item) => !widerMeasure.includes(item.lease.provider));
          await this.revokeAll(plain, new Map(), run.actor, tally, seen);
          for (const item of batch.others) {
            const list = others.get(item.lease.provider) ?? [];
            list.push(toCommand(item));
            others.set(item.lease.provider, list);
          }
        } while (cursor !== '0');
      }
    } finally {
      await previous.catch(() => undefined);
    }
    await previous;
    return { matching, others };
  }

  /**
   * Leases the batch marked revoked: the provider's own revocation (JWT denylist; one call for the
   * batch where the provider can), then their audit events.
   */
  private async recorded(revoked: Unrevoked[], run: BreakGlassRun, tally: Tally): Promise<void> {
    if (revoked.length === 0) {
      return;
    }
    const byProvider = new Map<string, Unrevoked[]>();
    for (const item of revoked) {
      const list = byProvider.get(item.lease.provider) ?? [];
      list.push(item);
      byProvider.set(item.lease.provider, list);
    }
    // The record already says revoked, which is what ends a record-only credential: a failure here is logged.
    const failed = (leaseIds: string[], err: unknown): void =>
      this.logger.warn('break glass: provider revocation after the record failed', {
        leaseIds: leaseIds.slice(0, 10),
        leases: leaseIds.length,
        err: String(err),
      });
    await Promise.all(
      [...byProvider].map(async ([kind, items]) => {
        const provider = this.providers.get(kind as Lease['provider']);
        const commands = items.map(({ lease, handle }) => ({ leaseId: lease.id, expiresAt: lease.expiresAt, handle }));
        if (provider.revokeMany) {
          await provider.revokeMany(commands).catch((err: unknown) =>
            failed(
              commands.map((c) => c.leaseId),
              err,
            ),
          );
          return;
        }
        await Promise.all(commands.map((c) => provider.revoke(c).catch((err: unknown) => failed([c.leaseId], err))));
      }),
    );
    await this.auditRevoked(
      run,
      revoked.map(({ lease }) => lease),
    );
    revoked.forEach(({ lease }) => tally.revoked(lease.id));
  }

  /**
   * Leases an earlier process of this run revoked whose audit may not have been noted: those its
   * events already name (it died between the audit append and the note) are only noted, the others
   * audited now, so each lease is named once.
   */
  private async auditLeftovers(run: BreakGlassRun, tally: Tally): Promise<void> {
    const unaudited = await this.runs.unaudited(run.id);
    if (unaudited.length === 0) {
      return;
    }
    const named = await this.namedByRun(run, new Set(unaudited));
    if (named.size > 0) {
      await this.runs.audited(run.id, [...named]);
      named.forEach((id) => tally.revoked(id));
    }
    const ids = unaudited.filter((id) => !named.has(id));
    for (let i = 0; i < ids.length; i += BATCH) {
      const leases = await Promise.all(ids.slice(i, i + BATCH).map((id) => this.store.getLease(id)));
      const found = leases.filter((l): l is Lease => l !== undefined);
      await this.auditRevoked(run, found);
      await this.runs.audited(run.id, ids.slice(i, i + BATCH));
      found.forEach((lease) => tally.revoked(lease.id));
    }
  }

  /** Which of `ids` the run's `lease.revoked` events already name (read from the audit head at its start). */
  private async namedByRun(run: BreakGlassRun, ids: Set<string>): Promise<Set<string>> {
    const named = new Set<string>();
    if (run.auditFrom === undefined) {
      return named;
    }
    let after = run.auditFrom;
    for (;;) {
      const events = await this.audit.range(after, AUDIT_READ);
      for (const e of events) {
        after = e.seq;
        if (e.action !== 'lease.revoked' || e.details?.breakGlass !== run.id) {
          continue;
        }
        for (const id of e.leases ? e.leases.map((l) => l.leaseId) : [e.leaseId]) {
          if (id !== undefined && ids.has(id)) {
            named.add(id);
          }
        }
      }
      if (events.length < AUDIT_READ) {
        return named;
      }
    }
  }

  /**
   * `lease.revoked` events, then the run's note that the leases are audited: one event per
   * BREAK_GLASS_AUDIT_CHUNK leases revoked by the break glass, naming each (`leases`: its id, request,
   * session, principal, role, environment, provider, provider reference), so `GET /v1/audit?lease=…`
   * (request, session, environment) finds it; a lease that had expired by then gets an event of its own
   * with reason `expired` and its lag, as the expiry job writes it.
   */
  private async auditRevoked(run: BreakGlassRun, leases: Lease[]): Promise<void> {
    const now = this.clock.now();
    const expired = leases.filter((l) => now >= l.expiresAt);
    const ended = leases.filter((l) => now < l.expiresAt);
    const events: NewAuditEvent[] = expired.map((lease) =>
      leaseRevokedEvent(lease, run.actor, { reason: 'expired', breakGlass: run.id, lagMs: now - lease.expiresAt }),
    );
    for (let i = 0; i < ended.length; i += BREAK_GLASS_AUDIT_CHUNK) {
      events.push(batchRevokedEvent(ended.slice(i, i + BREAK_GLASS_AUDIT_CHUNK), run));
    }
    await Promise.all(events.map((e) => this.audit.append(e)));
    await this.runs.audited(
      run.id,
      leases.map((l) => l.id),
    );
  }

  /** Audits and logs the outcome; fails loudly when some leases could not be reached at all. */
  private async report(run: BreakGlassRun, result: BreakGlassResult, unreachable: number): Promise<void> {
    const { selector, actor, reason } = run;
    if (unreachable === 0) {
      await this.audit.append({
        actor,
        action: 'admin.break_glass',
        ...(selector.environment ? { environment: selector.environment } : {}),
        ...(selector.role ? { role: selector.role } : {}),
        details: {
          breakGlass: run.id,
          selector,
          ...(reason ? { reason } : {}),
          ...(run.resumed > 0 ? { resumed: run.resumed } : {}),
          revoked: result.counts.revokedLeases,
          pending: result.pendingLeases,
          pendingCount: result.counts.pendingLeases,
          cancelledRequests: result.counts.cancelledRequests,
          measures: result.measures,
        },
      });
      // Only once it is audited: a run that dies before this is finished again by the reconciler.
      await this.runs.finish(run.id, { ...result.counts, finishedAt: this.clock.now() });
    }
    this.logger.warn('break glass', {
      run: run.id,
      actor: actor.id,
      selector,
      revoked: result.counts.revokedLeases,
      pending: result.counts.pendingLeases,
      unreachable,
    });
    if (unreachable > 0) {
      // Fail loudly rather than report success; the run stays open, so the reconciler takes it up again.
      throw new CoreError(
        CoreErrorCode.Unavailable,
        `break glass revoked ${result.counts.revokedLeases} leases, but ${unreachable} could not be ` +
          'revoked because the store is unavailable; it is retried (revoked leases are skipped)',
        { revoked: result.counts.revokedLeases, unreachable },
      );
    }
  }

  private unknownToPolicy(s: Selector): string[] {
    const doc = this.policy.current.document;
    return [
      ...(s.environment !== undefined && !Object.hasOwn(doc.environments, s.environment)
        ? [`environment ${s.environment} is not in the current policy`]
        : []),
      ...(s.role !== undefined && !doc.roles.some((r) => r.id === s.role)
        ? [`role ${s.role} is not in the current policy`]
        : []),
    ];
  }

  /**
   * Cancels every open (pending or approved) request matching the selector, walking the open-request
   * index a bounded batch at a time (its requests read at once), so any number of them is covered.
   */
  private async cancelOpenRequests(s: Selector, by: string, tally: Tally): Promise<void> {
    let cursor = '0';
    do {
      const page = await this.runs.openRequests(cursor, SCAN_COUNT);
      cursor = page.cursor;
      const found = await Promise.all(page.ids.map((id) => this.store.getRequest(id)));
      for (const [i, id] of page.ids.entries()) {
        const r = found[i]?.request;
        if (!r || (r.state !== 'pending' && r.state !== 'approved') || !matches(s, r)) {
          continue;
        }
        try {
          await this.cancel.execute({ principal: 'system', id, actor: by });
          tally.cancelled(id);
        } catch (err) {
          // Decided, claimed or expired meanwhile: a lease it produced is found by the lease pass.
          if (!(err instanceof CoreError && err.code === CoreErrorCode.Conflict)) {
            throw err;
          }
        }
      }
    } while (cursor !== '0');
  }

  /** The provider's break-glass measure wider than one lease, if it has one (AWS role cut-off). */
  private widerMeasure(kind: Lease['provider']): CredentialProvider['breakGlass'] {
    return this.providers.has(kind) ? this.providers.get(kind).breakGlass?.bind(this.providers.get(kind)) : undefined;
  }

  /** Lets providers with a wider measure take it; a failure there only means revoking one by one. */
  private async providerMeasures(
    selected: Unrevoked[],
    others: Map<string, ProviderRevokeCommand[]>,
    measures: BreakGlassResult['measures'],
  ): Promise<Map<string, RevocationReport>> {
    const covered = new Map<string, RevocationReport>();
    const kinds = [...new Set(selected.map((x) => x.lease.provider))];
    for (const kind of kinds) {
      const breakGlass = this.widerMeasure(kind);
      if (!breakGlass) {
        continue;
      }
      const mine = selected.filter((x) => x.lease.provider === kind).map(toCommand);
      try {
        const reports = await breakGlass({ selected: mine, others: others.get(kind) ?? [] });
        const notes = new Map<string, number>();
        for (const [leaseId, report] of reports) {
          covered.set(leaseId, report);
          notes.set(report.note ?? report.effect, (notes.get(report.note ?? report.effect) ?? 0) + 1);
        }
        notes.forEach((leases, note) => measures.push({ provider: kind, kind: 'cut_off', leases, note }));
      } catch (err) {
        this.logger.error('break glass: provider-wide measure failed; revoking lease by lease', {
          provider: kind,
          err: String(err),
        });
      }
    }
    return covered;
  }

  private async revokeAll(
    selected: Unrevoked[],
    covered: Map<string, RevocationReport>,
    actor: Actor,
    tally: Tally,
    seen: { unreachable: string[]; unrecallable: Map<string, Lease[]> },
  ): Promise<void> {
    const queue = [...selected];
    const worker = async (): Promise<void> => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        const id = item.lease.id;
        const done = covered.get(id);
        let outcome;
        try {
          outcome = await this.revoke.execute({
            leaseId: id,
            reason: 'break_glass',
            actor,
            final: false,
            ...(done ? { done } : {}),
          });
          if (outcome.outcome === 'retry') {
            await this.scheduler.revokeSoon(id, 'break_glass');
          }
        } catch (err) {
          // One lease's trouble (Redis blip) must not stop the others from being revoked.
          this.logger.error('break glass: could not revoke a lease', { leaseId: id, err: String(err) });
          seen.unreachable.push(id);
          continue;
        }
        if (outcome.outcome === 'revoked' && outcome.report?.effect === 'expires_by_itself') {
          const list = seen.unrecallable.get(item.lease.provider) ?? [];
          list.push(item.lease);
          seen.unrecallable.set(item.lease.provider, list);
        }
        // 'failed' is quarantined as revocation_failed, which the reconciler keeps retrying.
        const settled = outcome.outcome !== 'retry' && outcome.outcome !== 'failed';
        if (settled) {
          tally.revoked(id);
        } else {
          tally.pending(id);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  }
}

/** Says plainly what break glass could not stop (GCP access tokens), so nobody believes it dead. */
function unrecallableMeasures(unrecallable: Map<string, Lease[]>): BreakGlassResult['measures'] {
  return [...unrecallable].map(([provider, leases]) => {
    const last = new Date(leases.reduce((max, l) => Math.max(max, l.expiresAt), 0)).toISOString();
    return {
      provider,
      kind: 'unrecallable' as const,
      leases: leases.length,
      note:
        `${leases.length} ${provider} credential(s) cannot be recalled by the provider: the leases ended, ` +
        `the credentials expire by themselves, the last at ${last}`,
    };
  });
}

/** The `lease.revoked` event of leases break glass revoked together; what they all share is named once on top. */
function batchRevokedEvent(leases: Lease[], run: BreakGlassRun): NewAuditEvent {
  const refs = leases.map((l): AuditLeaseRef => ({
    leaseId: l.id,
    requestId: l.requestId,
    ...(l.sessionId ? { sessionId: l.sessionId } : {}),
    principal: l.principal,
    role: l.role,
    environment: l.environment,
    provider: l.provider,
    ...(l.providerRef ? { providerRef: l.providerRef } : {}),
  }));
  const shared = (key: 'role' | 'environment' | 'provider'): string | undefined =>
    refs.every((r) => r[key] === refs[0][key]) ? refs[0][key] : undefined;
  const [role, environment, provider] = [shared('role'), shared('environment'), shared('provider')];
  return {
    actor: run.actor,
    action: 'lease.revoked',
    ...(role ? { role } : {}),
    ...(environment ? { environment } : {}),
    ...(provider ? { provider } : {}),
    leases: refs,
    details: { reason: 'break_glass', breakGlass: run.id, count: refs.length },
  };
}

function toCommand(x: Unrevoked): ProviderRevokeCommand {
  return { leaseId: x.lease.id, expiresAt: x.lease.expiresAt, handle: x.handle };
}
