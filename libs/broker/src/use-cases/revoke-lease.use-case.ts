import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock, type Lease } from '@leash/core';
import type { RevokeReason } from '@leash/contracts';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { leaseEvent, leaseRevokedEvent } from '../revocation/lease-revoked-event';
import { ProviderError, type ProviderRegistry, type RevocationReport } from '@leash/providers';
import { notFound } from '../access-control';
import { BROKER_LOGGER, PROVIDER_REGISTRY, QUARANTINE_RETRY_MS, type BrokerLogger } from '../broker.tokens';
import { REVOCATION_SCHEDULER, type RevocationScheduler } from '../revocation/revocation-scheduler.port';
import { NotifyApprovers } from './notify-approvers.service';

export interface RevokeCommand {
  leaseId: string;
  reason: RevokeReason;
  actor: { id: string; channel: 'api' | 'system' | 'web' | 'slack' };
  /** True on the worker's last attempt: a failure then quarantines the lease as revocation_failed. */
  final: boolean;
  /** The provider already made the credential unusable (break glass's wider measure): record this instead. */
  done?: RevocationReport;
}

export type RevokeOutcome =
  | { outcome: 'revoked'; lease: Lease; lagMs?: number; report?: RevocationReport }
  | { outcome: 'already_revoked'; lease: Lease }
  /** An expiry job that ran before the lease's expiry on this process's clock: run it again in `dueInMs`. */
  | { outcome: 'not_due'; lease: Lease; dueInMs: number }
  | { outcome: 'retry'; lease: Lease; error: string }
  | { outcome: 'failed'; lease: Lease; error: string };

/** Revokes one lease through its provider; idempotent and safe to run concurrently. */
@Injectable()
export class RevokeLease {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_REGISTRY) private readonly providers: ProviderRegistry,
    @Inject(REVOCATION_SCHEDULER)
    private readonly scheduler: RevocationScheduler,
    @Inject(BROKER_LOGGER) private readonly logger: BrokerLogger,
    @Inject(QUARANTINE_RETRY_MS) private readonly quarantineRetryMs: number,
    private readonly notify: NotifyApprovers,
  ) {}

  async execute(cmd: RevokeCommand): Promise<RevokeOutcome> {
    const current = await this.store.getLease(cmd.leaseId);
    if (!current) {
      throw notFound(`lease ${cmd.leaseId}`);
    }
    if (current.state === 'revoked') {
      return { outcome: 'already_revoked', lease: current };
    }
    // A job that fires early for a lease still active is left alone for now: whoever timed it (the
    // hand-over, a claim) took its delay from its own measured offset to Redis TIME, which moves by a
    // few ms to tens of ms between measurements on a busy host. The caller runs it again at expiry.
    const checkedAt = this.clock.now();
    if (cmd.reason === 'expired' && current.state === 'active' && current.expiresAt > checkedAt) {
      return { outcome: 'not_due', lease: current, dueInMs: current.expiresAt - checkedAt };
    }
    const begun = await this.store.beginRevoke(cmd.leaseId, cmd.reason, this.clock.now());
    if (!begun.ok) {
      const lease = (await this.store.getLease(cmd.leaseId)) ?? current;
      return { outcome: 'already_revoked', lease };
    }
    const { lease, handle } = begun;
    let report: RevocationReport | undefined;
    try {
      report =
        cmd.done ??
        (await this.providers.get(lease.provider).revoke({ leaseId: lease.id, expiresAt: lease.expiresAt, handle })) ??
        undefined;
    } catch (err) {
      return this.failed(cmd, lease, err);
    }
    await this.followUp(lease, report);
    const now = this.clock.now();
    const done = await this.store.completeRevoke(lease.id, now);
    const after = (await this.store.getLease(lease.id)) ?? lease;
    if (!done.ok) {
      return { outcome: 'already_revoked', lease: after };
    }
    if (cmd.reason !== 'expired') {
      await this.scheduler.cancel(lease.id);
    }
    const lagMs = Math.max(0, now - lease.expiresAt);
    const expiredFirst = now >= lease.expiresAt;
    await this.audit.append(
      leaseRevokedEvent(lease, cmd.actor, {
        reason: expiredFirst ? 'expired' : cmd.reason,
        lagMs: expiredFirst ? lagMs : undefined,
        ...(report ? { effect: report.effect, note: report.note } : {}),
      }),
    );
    const request = await this.store.getRequest(lease.requestId).catch(() => undefined);
    if (request) {
      this.notify.update(request.request, { kind: 'revoked', leaseId: lease.id });
    }
    return {
      outcome: 'revoked',
      lease: after,
      ...(expiredFirst ? { lagMs } : {}),
      ...(report ? { report } : {}),
    };
  }

  /** Audits a wider measure loudly and schedules the provider's follow-up (its failure is only logged). */
  private async followUp(lease: Lease, report: RevocationReport | undefined): Promise<void> {
    if (report?.escalation) {
      this.logger.error('provider revocation escalated', { leaseId: lease.id, escalation: report.escalation });
      await this.audit.append({
        actor: { id: 'system', channel: 'system' },
        action: 'provider.revocation_escalated',
        leaseId: lease.id,
        role: lease.role,
        environment: lease.environment,
        provider: lease.provider,
        details: { escalation: report.escalation },
      });
    }
    const next = report?.followUp;
    if (next) {
      await this.scheduler
        .scheduleFollowUp({ provider: lease.provider, key: next.key, data: next.data }, next.at, this.clock.now())
        .catch((err: unknown) =>
          // The entry stays until the next revocation of the same target prunes it: safe, only larger.
          this.logger.warn('could not schedule provider follow-up', { leaseId: lease.id, err: String(err) }),
        );
    }
  }

  private async failed(cmd: RevokeCommand, lease: Lease, err: unknown): Promise<RevokeOutcome> {
    const permanent = err instanceof ProviderError && !err.retryable;
    const final = cmd.final || permanent;
    const error = err instanceof ProviderError ? `${err.providerCode}: ${err.message}` : 'provider error';
    const now = this.clock.now();
    await this.store.failRevoke(lease.id, error, final, now, now + this.quarantineRetryMs);
    await this.audit.append(
      leaseEvent(lease, cmd.actor, final ? 'lease.revocation_failed' : 'lease.revoke_failed', {
        error,
        attempt: lease.attempts,
        final,
      }),
    );
    const after = (await this.store.getLease(lease.id)) ?? lease;
    if (final) {
      this.logger.error('lease revocation failed; lease quarantined as revocation_failed', {
        leaseId: lease.id,
        provider: lease.provider,
        error,
      });
      return { outcome: 'failed', lease: after, error };
    }
    this.logger.warn('lease revocation attempt failed; will retry', {
      leaseId: lease.id,
      error,
    });
    return { outcome: 'retry', lease: after, error };
  }
}
