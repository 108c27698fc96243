import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, CoreError, CoreErrorCode, type Channel, type Clock, type Lease, type Principal } from '@leash/core';
import type { BreakGlassBody, BreakGlassResult } from '@leash/contracts';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import type {
  CredentialProvider,
  ProviderRegistry,
  RevocationReport,
  RevokeCommand as ProviderRevokeCommand,
} from '@leash/providers';
import { forbidden } from '../access-control';
import { Identities } from '../auth/identities';
import { BROKER_LOGGER, POLICY_HOLDER, PROVIDER_REGISTRY, type BrokerLogger } from '../broker.tokens';
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

const BATCH = 500;
/** Leases revoked at once; bounded so a large break glass does not flood the providers. */
const CONCURRENCY = 16;

function matches(s: Selector, x: { environment: string; role: string; principal: string }): boolean {
  return (
    (s.environment === undefined || x.environment === s.environment) &&
    (s.role === undefined || x.role === s.role) &&
    (s.principal === undefined || x.principal === s.principal)
  );
}

/**
 * Break glass (admins): revokes every unrevoked lease matching the selector and cancels every open
 * request matching it, so nothing new is issued from an approval given before. Providers with a
 * wider measure (AWS role cut-off) take it first; every lease is then revoked and audited as usual.
 */
@Injectable()
export class BreakGlass {
  constructor(
    @Inject(POLICY_HOLDER) private readonly policy: PolicyHolder,
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(PROVIDER_REGISTRY) private readonly providers: ProviderRegistry,
    @Inject(REVOCATION_SCHEDULER) private readonly scheduler: RevocationScheduler,
    @Inject(BROKER_LOGGER) private readonly logger: BrokerLogger,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly revoke: RevokeLease,
    private readonly cancel: CancelRequest,
    private readonly identities: Identities,
    private readonly pending: PendingRevocations,
  ) {
    pending.register('break_glass', async (job) => {
      await this.run(job.actor, job.body);
    });
  }

  async execute(cmd: { principal: Principal; body: BreakGlassBody; channel?: Channel }): Promise<BreakGlassResult> {
    if (!this.identities.isAdmin(cmd.principal)) {
      throw forbidden('only admins may break glass');
    }
    const actor = { id: cmd.principal.id, channel: cmd.channel ?? 'api' } as const;
    try {
      return await this.run(actor, cmd.body);
    } catch (err) {
      const unreachable = err instanceof CoreError && err.code === CoreErrorCode.Unavailable;
      if (!isStoreWriteFailure(err) && !unreachable) {
        throw err;
      }
      return this.keepPending(actor, cmd.body, err);
    }
  }

  /**
   * Redis refused a write (out of memory): the whole break glass is kept and run again until it
   * completes; the leases it selects introspect inactive meanwhile. The caller gets 202 pending.
   */
  private async keepPending(actor: { id: string; channel: Channel }, body: BreakGlassBody, err: unknown): Promise<never> {
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

  private async run(actor: { id: string; channel: Channel }, body: BreakGlassBody): Promise<BreakGlassResult> {
    const { reason, ...selector } = body;
    const result: BreakGlassResult = {
      selector,
      revokedLeases: [],
      pendingLeases: [],
      cancelledRequests: [],
      measures: [],
      warnings: this.unknownToPolicy(selector),
    };
    // Before anything is listed: a claim in flight that records its lease later sees this fence.
    await this.store.raiseFences([glassFence(selector)], this.clock.now());
    // Requests first: an approved request cancelled now cannot be claimed while its siblings are revoked.
    result.cancelledRequests = await this.cancelOpenRequests(selector, actor.id);
    // Twice: a claim that was in flight during the first pass records its lease before the second.
    const unreachable: string[] = [];
    const unrecallable = new Map<string, Lease[]>();
    for (let pass = 0; pass < 2; pass += 1) {
      const handled = new Set([...result.revokedLeases, ...result.pendingLeases, ...unreachable]);
      const { selected, others } = await this.collect(selector, handled);
      const covered = await this.providerMeasures(selected, others, result);
      await this.revokeAll(selected, covered, actor, result, { unreachable, unrecallable });
    }
    result.measures.push(...unrecallableMeasures(unrecallable));
    await this.report(actor, selector, reason, result, unreachable.length);
    return result;
  }

  /** Audits and logs the outcome; fails loudly when some leases could not be reached at all. */
  private async report(
    actor: { id: string; channel: Channel },
    selector: Selector,
    reason: string | undefined,
    result: BreakGlassResult,
    unreachable: number,
  ): Promise<void> {
    await this.audit.append({
      actor,
      action: 'admin.break_glass',
      ...(selector.environment ? { environment: selector.environment } : {}),
      ...(selector.role ? { role: selector.role } : {}),
      details: {
        selector,
        ...(reason ? { reason } : {}),
        revoked: result.revokedLeases.length,
        pending: result.pendingLeases,
        cancelledRequests: result.cancelledRequests.length,
        measures: result.measures,
      },
    });
    this.logger.warn('break glass', {
      actor: actor.id,
      selector,
      revoked: result.revokedLeases.length,
      pending: result.pendingLeases.length,
      unreachable,
    });
    if (unreachable > 0) {
      // Fail loudly rather than report success: these leases are still active and nothing retries them.
      throw new CoreError(
        CoreErrorCode.Unavailable,
        `break glass revoked ${result.revokedLeases.length} leases, but ${unreachable} could not be ` +
          'revoked because the store is unavailable; run it again (revoked leases are skipped)',
        { revoked: result.revokedLeases.length, unreachable },
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

  private async cancelOpenRequests(s: Selector, by: string): Promise<string[]> {
    const cancelled: string[] = [];
    for (const id of await this.store.openRequests(100_000)) {
      const found = await this.store.getRequest(id);
      const r = found?.request;
      if (!r || (r.state !== 'pending' && r.state !== 'approved') || !matches(s, r)) {
        continue;
      }
      try {
        await this.cancel.execute({ principal: 'system', id, actor: by });
        cancelled.push(id);
      } catch (err) {
        // Decided, claimed or expired meanwhile: a lease it produced is found by the lease pass.
        if (!(err instanceof CoreError && err.code === CoreErrorCode.Conflict)) {
          throw err;
        }
      }
    }
    return cancelled;
  }

  private async collect(
    s: Selector,
    done: Set<string>,
  ): Promise<{ selected: Unrevoked[]; others: Map<string, ProviderRevokeCommand[]> }> {
    const selected: Unrevoked[] = [];
    const others = new Map<string, ProviderRevokeCommand[]>();
    for await (const batch of this.store.unrevokedLeases(BATCH)) {
      for (const item of batch) {
        if (matches(s, item.lease)) {
          if (!done.has(item.lease.id)) {
            selected.push(item);
          }
        } else if (this.widerMeasure(item.lease.provider)) {
          const list = others.get(item.lease.provider) ?? [];
          list.push(toCommand(item));
          others.set(item.lease.provider, list);
        }
      }
    }
    return { selected, others };
  }

  /** The provider's break-glass measure wider than one lease, if it has one (AWS role cut-off). */
  private widerMeasure(kind: Lease['provider']): CredentialProvider['breakGlass'] {
    return this.providers.has(kind) ? this.providers.get(kind).breakGlass?.bind(this.providers.get(kind)) : undefined;
  }

  /** Lets providers with a wider measure take it; a failure there only means revoking one by one. */
  private async providerMeasures(
    selected: Unrevoked[],
    others: Map<string, ProviderRevokeCommand[]>,
    result: BreakGlassResult,
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
        notes.forEach((leases, note) => result.measures.push({ provider: kind, kind: 'cut_off', leases, note }));
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
    actor: { id: string; channel: Channel },
    result: BreakGlassResult,
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
        (settled ? result.revokedLeases : result.pendingLeases).push(id);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  }
}

/** Says plainly what break glass could not stop (GCP access tokens), so nobody believes it dead. */
function unrecallableMeasures(unrecallable: Map<string, Lease[]>): BreakGlassResult['measures'] {
  return [...unrecallable].map(([provider, leases]) => {
    const last = new Date(Math.max(...leases.map((l) => l.expiresAt))).toISOString();
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

function toCommand(x: Unrevoked): ProviderRevokeCommand {
  return { leaseId: x.lease.id, expiresAt: x.lease.expiresAt, handle: x.handle };
}
