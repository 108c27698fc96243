import { Inject, Injectable } from '@nestjs/common';
import { CoreError, CoreErrorCode, type Channel, type Principal } from '@leash/core';
import type { LeaseView } from '@leash/contracts';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { forbidden, mayManageLease, notFound } from '../access-control';
import { Identities } from '../auth/identities';
import { REVOCATION_SCHEDULER, type RevocationScheduler } from '../revocation/revocation-scheduler.port';
import {
  isStoreWriteFailure,
  PendingRevocations,
  RevocationPendingError,
} from '../revocation/pending-revocations.service';
import { toLeaseView } from '../views';
import { RevokeLease } from './revoke-lease.use-case';

/**
 * Early revocation from the API: revoke at once; if the provider refuses, the worker retries. If
 * Redis refuses the write (out of memory), the revocation is kept and retried in this process
 * until Redis takes it, and the caller is told it is pending (202), never that it failed.
 */
@Injectable()
export class RevokeLeaseNow {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(REVOCATION_SCHEDULER)
    private readonly scheduler: RevocationScheduler,
    private readonly revoke: RevokeLease,
    private readonly identities: Identities,
    private readonly pending: PendingRevocations,
  ) {
    pending.register('lease', async (job) => {
      try {
        const result = await this.revoke.execute({
          leaseId: job.leaseId,
          reason: job.reason,
          actor: job.actor,
          final: false,
        });
        if (result.outcome === 'retry') {
          await this.scheduler.revokeSoon(job.leaseId, job.reason);
        }
      } catch (err) {
        // A lease that is gone (a wiped store) has nothing left to revoke; it introspects inactive anyway.
        if (!(err instanceof CoreError && err.code === CoreErrorCode.NotFound)) {
          throw err;
        }
      }
    });
  }

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
    const actor = { id: cmd.principal.id, channel: cmd.channel ?? 'api' };
    let result: Awaited<ReturnType<RevokeLease['execute']>>;
    try {
      result = await this.revoke.execute({ leaseId: cmd.id, reason: 'early', actor, final: false });
      if (result.outcome === 'retry') {
        await this.scheduler.revokeSoon(cmd.id, 'early');
      }
    } catch (err) {
      if (!isStoreWriteFailure(err)) {
        throw err;
      }
      this.pending.add({ kind: 'lease', leaseId: cmd.id, reason: 'early', actor });
      throw new RevocationPendingError(
        `the store refused to record the revocation of lease ${cmd.id} (${errorText(err)}); it is retried until ` +
          'recorded, and the credential is treated as revoked meanwhile',
        { leases: [cmd.id] },
        { cause: err },
      );
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

/** The store's refusal in a few words (e.g. Redis's "OOM command not allowed …"); never a secret. */
export function errorText(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : undefined;
  return (cause ?? (err instanceof Error ? err.message : 'store error')).slice(0, 120);
}
