import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { POLICY_HOLDER, REVOCATION_SCHEDULER, type PolicyHolder, type RevocationScheduler } from '@leash/broker';

interface Check {
  status: 'up' | 'down';
  detail?: string;
}

@Controller()
export class HealthController {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(REVOCATION_SCHEDULER)
    private readonly scheduler: RevocationScheduler,
    @Inject(POLICY_HOLDER) private readonly policy: PolicyHolder,
  ) {}

  /** Liveness: the process is serving. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: Redis, the revocation queue and the policy are usable. */
  @Get('readyz')
  async readyz(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ status: string; checks: Record<string, Check> }> {
    const probe = async (fn: () => Promise<unknown>): Promise<Check> => {
      try {
        await Promise.race([fn(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1500))]);
        return { status: 'up' };
      } catch (err) {
        return {
          status: 'down',
          detail: err instanceof Error ? err.message : 'down',
        };
      }
    };
    const checks: Record<string, Check> = {
      redis: await probe(() => this.store.ping()),
      queue: await probe(() => this.scheduler.ping()),
      policy: {
        status: 'up',
        detail: `version ${this.policy.current.version}`,
      },
    };
    const ready = Object.values(checks).every((c) => c.status === 'up');
    void reply.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not_ready', checks };
  }
}
