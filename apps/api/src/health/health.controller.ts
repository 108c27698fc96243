import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import {
  DrainSignal,
  POLICY_HOLDER,
  ProviderAvailability,
  REVOCATION_SCHEDULER,
  STORE_HEALTH,
  type PolicyHolder,
  type RevocationScheduler,
  type StoreHealth,
} from '@leash/broker';

const TIMEOUT_MS = 1500;

/** Liveness and readiness (@nestjs/terminus); readiness answers 503 with the failing checks. */
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(REVOCATION_SCHEDULER) private readonly scheduler: RevocationScheduler,
    @Inject(POLICY_HOLDER) private readonly policy: PolicyHolder,
    private readonly availability: ProviderAvailability,
    @Inject(STORE_HEALTH) private readonly storeHealth: StoreHealth,
    private readonly drain: DrainSignal,
  ) {}

  /** The store checks (epoch, eviction policy, persistence, memory, clock), each named in words. */
  private storeCheck() {
    const { problems, ...measured } = this.storeHealth.status();
    const check = this.indicator.check('store');
    return problems.length === 0 ? check.up(measured) : check.down({ ...measured, problems });
  }

  /** Liveness: the process is serving. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Every provider's state, `up`, `down: why` (configured but unhealthy) or `disabled: why` (not configured
   * here), reported but not gating readiness: one provider down must not take the broker out of rotation
   * for every other provider. Requests for a role whose provider is not up are refused with 503.
   */
  private async providerHealth() {
    return this.indicator.check('providers').up(await this.availability.all());
  }

  /** Readiness: Redis, the revocation queue and the policy are usable; provider health is reported. */
  @Get('readyz')
  async readyz(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HealthCheckResult & { checks: HealthCheckResult['details'] }> {
    const probe = (key: string, fn: () => Promise<unknown>) => () =>
      this.indicator
        .check(key)
        .attempt(async () => {
          await fn();
        })
        .withTimeout(TIMEOUT_MS);
    // `checks` repeats terminus' `details` under the name the readiness body has always used.
    try {
      const result = await this.health.check([
        probe('redis', () => this.store.ping()),
        probe('queue', () => this.scheduler.ping()),
        () => this.indicator.check('policy').up({ version: this.policy.current.version }),
        () => this.providerHealth(),
        () => this.storeCheck(),
        () =>
          // Set once SIGTERM arrives: readiness fails at once so the load balancer stops sending traffic.
          this.drain.active
            ? this.indicator.check('shutdown').down({ reason: 'shutting down (SIGTERM)' })
            : this.indicator.check('shutdown').up(),
      ]);
      return { ...result, checks: result.details };
    } catch (err) {
      if (err instanceof ServiceUnavailableException) {
        void reply.status(503).header('retry-after', '1');
        const body = err.getResponse() as HealthCheckResult;
        return { ...body, checks: body.details };
      }
      throw err;
    }
  }
}
