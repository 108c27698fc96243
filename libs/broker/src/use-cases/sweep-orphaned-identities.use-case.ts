import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '@leash/core';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { ProviderError, type LeaseIdentity, type ProviderRegistry } from '@leash/providers';
import { BROKER_LOGGER, POLICY_HOLDER, PROVIDER_REGISTRY, type BrokerLogger } from '../broker.tokens';
import type { PolicyHolder } from '../policy/policy.holder';

export interface SweepReport {
  checked: number;
  deleted: number;
  failed: number;
}

/**
 * An identity with no lease record is left alone this long: the claim that created it may still be
 * recording its lease. Issuing takes seconds; a crash leaves the identity for the next sweep.
 */
export const SWEEP_GRACE_MS = 5 * 60_000;

/**
 * Deletes provider identities (Kubernetes ServiceAccounts labelled with a lease) whose lease is not
 * active: revoked or failed leases whose cleanup was lost, and identities of claims that crashed
 * before the lease was recorded.
 */
@Injectable()
export class SweepOrphanedIdentities {
  constructor(
    @Inject(POLICY_HOLDER) private readonly policy: PolicyHolder,
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_REGISTRY) private readonly providers: ProviderRegistry,
    @Inject(BROKER_LOGGER) private readonly logger: BrokerLogger,
  ) {}

  async execute(): Promise<SweepReport> {
    const report: SweepReport = { checked: 0, deleted: 0, failed: 0 };
    const roles = this.policy.current.document.roles;
    for (const provider of this.providers.all()) {
      const settings = roles.filter((r) => r.provider === provider.kind).map((r) => r.settings);
      if (!provider.listLeaseIdentities || settings.length === 0) {
        continue;
      }
      const { identities, problems } = await provider.listLeaseIdentities(settings);
      for (const problem of problems) {
        this.logger.warn('sweep could not list identities', { provider: provider.kind, problem });
      }
      for (const identity of identities) {
        report.checked += 1;
        const why = await this.orphanReason(identity);
        if (!why) {
          continue;
        }
        try {
          await provider.revoke({ leaseId: identity.leaseId, expiresAt: this.clock.now(), handle: identity.handle });
          report.deleted += 1;
          await this.audit.append({
            actor: { id: 'system', channel: 'system' },
            action: 'identity.swept',
            leaseId: identity.leaseId,
            provider: provider.kind,
            details: { where: identity.where, reason: why },
          });
        } catch (err) {
          report.failed += 1;
          this.logger.warn('sweep could not delete an orphaned identity', {
            where: identity.where,
            err: err instanceof ProviderError ? `${err.providerCode}: ${err.message}` : 'error',
          });
        }
      }
    }
    if (report.deleted > 0 || report.failed > 0) {
      this.logger.log('identity sweep finished', { ...report });
    }
    return report;
  }

  private async orphanReason(identity: LeaseIdentity): Promise<string | undefined> {
    const lease = await this.store.getLease(identity.leaseId);
    if (lease) {
      return lease.state === 'active' ? undefined : `lease is ${lease.state}`;
    }
    return this.clock.now() - identity.createdAt > SWEEP_GRACE_MS ? 'no lease recorded' : undefined;
  }
}
