import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '@leash/core';
import { LEASE_STORE, type ClaimIntent, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { ProviderError, type ProviderRegistry, type RevocationReport } from '@leash/providers';
import { BROKER_LOGGER, PROVIDER_REGISTRY, QUARANTINE_RETRY_MS, type BrokerLogger } from '../broker.tokens';
import { REVOCATION_SCHEDULER, type RevocationScheduler } from '../revocation/revocation-scheduler.port';

export interface RecoveryReport {
  recovered: number;
  failed: number;
}

/** What a recovery did about a credential the dead attempt may have minted (audited as `outcome`). */
export type RecoveryOutcome = RevocationReport['effect'] | 'dropped';

const BATCH = 500;

/**
 * Recovers claims whose attempt died between taking the claim and recording the lease (an API
 * process killed mid-claim): whatever the provider may have minted for the intent is revoked
 * through the provider's own mechanism (AWS: SourceIdentity deny until the session could expire;
 * Kubernetes: the ServiceAccount is deleted; GCP: recorded as unrecallable until its expiry; JWT:
 * nothing left the process), audited as `claim.recovered`, and the request is freed: approved
 * again within its claim window, expired after it. A recovery that fails is retried later.
 */
@Injectable()
export class RecoverInterruptedClaims {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_REGISTRY) private readonly providers: ProviderRegistry,
    @Inject(REVOCATION_SCHEDULER) private readonly scheduler: RevocationScheduler,
    @Inject(BROKER_LOGGER) private readonly logger: BrokerLogger,
    @Inject(QUARANTINE_RETRY_MS) private readonly retryMs: number,
  ) {}

  async execute(): Promise<RecoveryReport> {
    const report: RecoveryReport = { recovered: 0, failed: 0 };
    const now = this.clock.now();
    for (const leaseId of await this.store.deadClaims(now, BATCH)) {
      // Held for this recovery until retryAt; if it fails, the next run after that tries again.
      const intent = await this.store.takeDeadClaim(leaseId, now, now + this.retryMs);
      if (!intent) {
        continue;
      }
      if (await this.recover(intent)) {
        report.recovered += 1;
      } else {
        report.failed += 1;
      }
    }
    if (report.recovered > 0 || report.failed > 0) {
      this.logger.log('interrupted claims recovered', { ...report });
    }
    return report;
  }

  private async recover(intent: ClaimIntent): Promise<boolean> {
    let result: { outcome: RecoveryOutcome; report?: RevocationReport; until?: number };
    try {
      result = await this.revokeMinted(intent);
    } catch (err) {
      this.logger.error('could not revoke the credential of an interrupted claim; will retry', {
        leaseId: intent.leaseId,
        provider: intent.provider,
        identity: intent.identity,
        err: err instanceof ProviderError ? `${err.providerCode}: ${err.message}` : String(err),
      });
      return false;
    }
    const request = await this.store.finishRecoveredClaim(intent.leaseId, this.clock.now());
    this.logger.warn('interrupted claim recovered', {
      leaseId: intent.leaseId,
      requestId: intent.requestId,
      provider: intent.provider,
      outcome: result.outcome,
    });
    await this.audit.append({
      actor: { id: 'system', channel: 'system' },
      action: 'claim.recovered',
      requestId: intent.requestId,
      leaseId: intent.leaseId,
      sessionId: intent.sessionId,
      role: intent.role,
      environment: intent.environment,
      provider: intent.provider,
      providerRef: intent.identity,
      details: {
        outcome: result.outcome,
        ...(result.until !== undefined ? { until: new Date(result.until).toISOString() } : {}),
        ...(result.report?.note ? { note: result.report.note } : {}),
        ...(result.report?.escalation ? { escalation: result.report.escalation } : {}),
        attempt: { owner: intent.owner, startedAt: new Date(intent.startedAt).toISOString() },
        request: request ?? 'unchanged',
      },
    });
    await this.followUp(intent, result.report);
    return true;
  }

  /**
   * Revokes what the attempt may have minted. It may have minted up to now, so the credential can
   * live until now plus its TTL: that is how long a deny entry must stand.
   */
  private async revokeMinted(
    intent: ClaimIntent,
  ): Promise<{ outcome: RecoveryOutcome; report?: RevocationReport; until?: number }> {
    const provider = this.providers.get(intent.provider);
    if (!provider.plan) {
      // The credential (e.g. a broker-signed JWT) exists only once `issue` returned in the dead process.
      return { outcome: 'dropped' };
    }
    const until = this.clock.now() + intent.ttlSeconds * 1000;
    const report =
      (await provider.revoke({ leaseId: intent.leaseId, expiresAt: until, handle: intent.handle })) ?? undefined;
    return { outcome: report?.effect ?? 'recalled', ...(report ? { report } : {}), until };
  }

  private async followUp(intent: ClaimIntent, report: RevocationReport | undefined): Promise<void> {
    const next = report?.followUp;
    if (!next) {
      return;
    }
    await this.scheduler
      .scheduleFollowUp({ provider: intent.provider, key: next.key, data: next.data }, next.at, this.clock.now())
      .catch((err: unknown) =>
        this.logger.warn('could not schedule provider follow-up', { leaseId: intent.leaseId, err: String(err) }),
      );
  }
}
