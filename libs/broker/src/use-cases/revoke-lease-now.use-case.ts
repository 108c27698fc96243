import { Inject, Injectable } from '@nestjs/common';
import type { Channel, Principal } from '@leash/core';
import type { LeaseView } from '@leash/contracts';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { forbidden, mayManageLease, notFound } from '../access-control';
import { Identities } from '../auth/identities';
import { REVOCATION_SCHEDULER, type RevocationScheduler } from '../revocation/revocation-scheduler.port';
import { toLeaseView } from '../views';
import { RevokeLease } from './revoke-lease.use-case';

/** Early revocation from the API: revoke at once; if the provider refuses, the worker retries. */
@Injectable()
export class RevokeLeaseNow {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(REVOCATION_SCHEDULER)
    private readonly scheduler: RevocationScheduler,
    private readonly revoke: RevokeLease,
    private readonly identities: Identities,
  ) {}

  async execute(cmd: {
    principal: Principal;
    id: string;
    channel?: Channel;
  }): Promise<{ lease: LeaseView; pending: boolean }> {
    const lease = await this.store.getLease(cmd.id);
    if (!lease) {
      throw notFound(`lease ${cmd.id}`);
    }
    const request = (await this.store.getRequest(lease.requestId))?.request;
    if (!mayManageLease(lease, request, cmd.principal, this.identities.of(cmd.principal))) {
      throw forbidden('only the requester, approvers of its role and admins may revoke this lease');
    }
    const result = await this.revoke.execute({
      leaseId: cmd.id,
      reason: 'early',
      actor: { id: cmd.principal.id, channel: cmd.channel ?? 'api' },
      final: false,
    });
    if (result.outcome === 'retry') {
      await this.scheduler.revokeSoon(cmd.id, 'early');
    }
    const report = result.outcome === 'revoked' ? result.report : undefined;
    return {
      lease: {
        ...toLeaseView(result.lease),
        ...(report ? { revocation: { effect: report.effect, ...(report.note ? { note: report.note } : {}) } } : {}),
      },
      pending: result.outcome === 'retry',
    };
  }
}
