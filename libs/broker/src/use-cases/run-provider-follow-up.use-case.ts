import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '@leash/core';
import type { ProviderFollowUpJob } from '@leash/contracts';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { ProviderError, type ProviderRegistry } from '@leash/providers';
import { BROKER_LOGGER, PROVIDER_REGISTRY, type BrokerLogger } from '../broker.tokens';
import { REVOCATION_SCHEDULER, type RevocationScheduler } from '../revocation/revocation-scheduler.port';

/**
 * Runs a provider follow-up job (e.g. pruning expired ids from the AWS deny policy) and schedules
 * the next one the provider asks for. Errors propagate so the job is retried with backoff.
 */
@Injectable()
export class RunProviderFollowUp {
  constructor(
    @Inject(PROVIDER_REGISTRY) private readonly providers: ProviderRegistry,
    @Inject(REVOCATION_SCHEDULER) private readonly scheduler: RevocationScheduler,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(BROKER_LOGGER) private readonly logger: BrokerLogger,
  ) {}

  async execute(job: ProviderFollowUpJob, final: boolean): Promise<{ next?: number }> {
    const provider = this.providers.get(job.provider);
    if (!provider.followUp) {
      return {};
    }
    let result;
    try {
      result = await provider.followUp(job.data);
    } catch (err) {
      const error = err instanceof ProviderError ? `${err.providerCode}: ${err.message}` : 'provider error';
      if (final || (err instanceof ProviderError && !err.retryable)) {
        this.logger.error('provider follow-up failed', { provider: job.provider, key: job.key, error });
        await this.audit
          .append({
            actor: { id: 'system', channel: 'system' },
            action: 'provider.follow_up_failed',
            provider: job.provider,
            details: { key: job.key, error },
          })
          .catch(() => undefined);
      }
      throw err;
    }
    await this.audit.append({
      actor: { id: 'system', channel: 'system' },
      action: 'provider.follow_up',
      provider: job.provider,
      details: { key: job.key, next: result?.followUp ? new Date(result.followUp.at).toISOString() : null },
    });
    const next = result?.followUp;
    if (next) {
      await this.scheduler.scheduleFollowUp(
        { provider: job.provider, key: next.key, data: next.data },
        next.at,
        this.clock.now(),
      );
    }
    return { next: next?.at };
  }
}
