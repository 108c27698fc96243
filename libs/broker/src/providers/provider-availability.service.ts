import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, LeashError, type Clock, type ProviderKind } from '@leash/core';
import { ProviderError, ProviderErrorCode, type ProviderRegistry } from '@leash/providers';
import { PROVIDER_REGISTRY } from '../broker.tokens';

export type ProviderState = 'up' | 'down' | 'disabled';

/** A role's provider cannot issue now: asking a human to approve it would be asking for the impossible. */
export class ProviderUnavailableError extends LeashError<'provider_unavailable'> {
  readonly code = 'provider_unavailable' as const;

  constructor(
    readonly provider: string,
    readonly state: Exclude<ProviderState, 'up'>,
    readonly detail: string,
  ) {
    super(`provider "${provider}" is ${state}: ${detail}`, { provider, state });
  }
}

const TIMEOUT_MS = 3000;
// A provider's state is asked for on every request; a few seconds of memory keeps a cloud API out of the hot path.
const CACHE_MS = 5000;
// A "down" is probed again sooner: a Redis failover makes the jwt provider down for a moment, and
// remembering that for 5 s would keep refusing claims for seconds after Redis serves again.
const DOWN_CACHE_MS = 1000;

/** Whether each provider can issue: `up`, `down` (configured, unhealthy) or `disabled` (not configured here). */
@Injectable()
export class ProviderAvailability {
  private readonly cache = new Map<string, { at: number; state: ProviderState; detail?: string }>();

  constructor(
    @Inject(PROVIDER_REGISTRY) private readonly registry: ProviderRegistry,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** The state of every provider the broker knows, probed now (readiness). */
  async all(kinds: ProviderKind[] = ['jwt', 'aws', 'gcp', 'kubernetes']): Promise<Record<string, string>> {
    const entries = await Promise.all(
      kinds.map(async (kind) => {
        const s = await this.probe(kind, undefined, 1500);
        return [kind, s.state === 'up' ? 'up' : `${s.state}: ${s.detail ?? ''}`] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  /** Throws ProviderUnavailableError unless the provider, and this role's settings on it, can issue. */
  async assertAvailable(kind: ProviderKind, settings: Record<string, unknown>): Promise<void> {
    const key = `${kind}\u0000${JSON.stringify(settings)}`;
    const now = this.clock.now();
    let s = this.cache.get(key);
    if (!s || now - s.at > (s.state === 'up' ? CACHE_MS : DOWN_CACHE_MS)) {
      s = { at: now, ...(await this.probe(kind, settings, TIMEOUT_MS)) };
      this.cache.set(key, s);
      if (this.cache.size > 1000) {
        this.cache.clear();
      }
    }
    if (s.state !== 'up') {
      throw new ProviderUnavailableError(kind, s.state, s.detail ?? '');
    }
  }

  private async probe(
    kind: ProviderKind,
    settings: Record<string, unknown> | undefined,
    timeoutMs: number,
  ): Promise<{ state: ProviderState; detail?: string }> {
    if (!this.registry.has(kind)) {
      return { state: 'disabled', detail: `provider "${kind}" is not enabled in this deployment` };
    }
    const provider = this.registry.get(kind);
    try {
      await Promise.race([
        (async () => {
          await provider.checkHealth();
          if (settings) {
            await provider.checkRole?.(settings);
          }
        })(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('health check timed out')), timeoutMs).unref()),
      ]);
      return { state: 'up' };
    } catch (err) {
      const detail = err instanceof Error ? err.message : 'unhealthy';
      if (err instanceof ProviderError && err.code === ProviderErrorCode.NotConfigured) {
        return { state: 'disabled', detail };
      }
      return { state: 'down', detail };
    }
  }
}
