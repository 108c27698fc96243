import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock, type Principal } from '@leash/core';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditAction, type AuditLog } from '@leash/audit';
import { forbidden, notFound } from '../access-control';
import { Identities } from '../auth/identities';
import { REVOCATION_SCHEDULER, type RevocationScheduler } from '../revocation/revocation-scheduler.port';
import { sessionFence } from '../revocation/fences';
import {
  isStoreWriteFailure,
  PendingRevocations,
  RevocationPendingError,
} from '../revocation/pending-revocations.service';
import { errorText } from './revoke-lease-now.use-case';
import { RevokeLease } from './revoke-lease.use-case';
import { NotifyApprovers } from './notify-approvers.service';

export interface SessionRevocation {
  sessionId: string;
  revokedLeases: string[];
  pendingLeases: string[];
  cancelledRequests: string[];
}

type Actor = { id: string; channel: 'api' | 'system' };

/** Ends an agent session: revokes every lease and cancels every open request of it. */
@Injectable()
export class RevokeSession {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(REVOCATION_SCHEDULER)
    private readonly scheduler: RevocationScheduler,
    private readonly revoke: RevokeLease,
    private readonly notify: NotifyApprovers,
    private readonly identities: Identities,
    private readonly pending: PendingRevocations,
  ) {
    pending.register('session', async (job) => {
      await this.end(job.sessionId, job.actor);
    });
  }

  /** The client (the session's requester) or an admin ends the session. */
  async execute(cmd: { principal: Principal; sessionId: string }): Promise<SessionRevocation> {
    const registered = await this.store.getSession(cmd.sessionId);
    const leases = await this.store.listLeases({ session: cmd.sessionId, limit: 10000 });
    const requestIds = await this.store.listSessionRequests(cmd.sessionId);
    const requests = (await Promise.all(requestIds.map((id) => this.store.getRequest(id)))).flatMap((r) =>
      r ? [r.request] : [],
    );
    if (!registered && leases.length === 0 && requests.length === 0) {
      throw notFound(`session ${cmd.sessionId}`);
    }
    // The session belongs to the principal (issuer, subject) that registered it or named it first;
    // ids from before that binding belong to whoever holds every lease and request in them.
    const bound = await this.store.sessionOwner(cmd.sessionId);
    const who = `${cmd.principal.issuer}\n${cmd.principal.id}`;
    const owners = new Set(
      bound
        ? [`${bound.issuer}\n${bound.principal}`]
        : [
            ...leases.map((l) => `${l.issuer ?? requests.find((r) => r.id === l.requestId)?.issuer}\n${l.principal}`),
            ...requests.map((r) => `${r.issuer}\n${r.principal}`),
          ],
    );
    const ownsAll = owners.size === 1 && owners.has(who);
    if (!ownsAll && !this.identities.isAdmin(cmd.principal)) {
      throw forbidden("only the session's requester and admins may end a session");
    }
    const actor: Actor = { id: cmd.principal.id, channel: 'api' };
    try {
      return await this.end(cmd.sessionId, actor);
    } catch (err) {
      if (!isStoreWriteFailure(err)) {
        throw err;
      }
      // Redis refused a write (out of memory): kept and retried until done, its leases inactive meanwhile.
      const open = leases.filter((l) => l.state !== 'revoked').map((l) => l.id);
      open.forEach((leaseId) => this.pending.add({ kind: 'lease', leaseId, reason: 'session', actor }));
      this.pending.add({ kind: 'session', sessionId: cmd.sessionId, actor });
      throw new RevocationPendingError(
        `the store refused to record the end of session ${cmd.sessionId} (${errorText(err)}); it is retried until ` +
          `recorded, and its ${open.length} lease(s) are treated as revoked meanwhile`,
        { leases: open, sessionId: cmd.sessionId },
        { cause: err },
      );
    }
  }

  private async end(sessionId: string, actor: Actor): Promise<SessionRevocation> {
    if (await this.store.getSession(sessionId)) {
      await this.store.endSession(sessionId, this.clock.now(), 'ended', false);
    }
    return this.terminate(sessionId, actor, 'session.revoked');
  }

  /** The reconciler ends a registered session that stopped heartbeating; undefined if it is not idle (any more). */
  async expireIdle(sessionId: string): Promise<SessionRevocation | undefined> {
    const ended = await this.store.endSession(sessionId, this.clock.now(), 'idle', true);
    if (!ended.ok) {
      return undefined;
    }
    return this.terminate(sessionId, { id: 'system', channel: 'system' }, 'session.idle_expired');
  }

  private async terminate(sessionId: string, actor: Actor, action: AuditAction): Promise<SessionRevocation> {
    // Before listing: a claim in flight that records its lease after the listing sees this fence.
    await this.store.raiseFences([sessionFence(sessionId)], this.clock.now());
    const leases = await this.store.listLeases({ session: sessionId, limit: 10000 });
    const requestIds = await this.store.listSessionRequests(sessionId);
    const requests = (await Promise.all(requestIds.map((id) => this.store.getRequest(id)))).flatMap((r) =>
      r ? [r.request] : [],
    );
    const cancelledRequests: string[] = [];
    for (const request of requests.filter((r) => r.state === 'pending' || r.state === 'approved')) {
      const moved = await this.store.transitionRequest({
        id: request.id,
        from: ['pending', 'approved'],
        to: 'cancelled',
        now: this.clock.now(),
        expiresAt: null,
      });
      if (moved.ok) {
        cancelledRequests.push(request.id);
        this.notify.update(request, { kind: 'cancelled' });
      }
    }
    const revokedLeases: string[] = [];
    const pendingLeases: string[] = [];
    for (const lease of leases.filter((l) => l.state !== 'revoked')) {
      const result = await this.revoke.execute({ leaseId: lease.id, reason: 'session', actor, final: false });
      if (result.outcome === 'retry') {
        pendingLeases.push(lease.id);
        await this.scheduler.revokeSoon(lease.id, 'session');
      } else {
        revokedLeases.push(lease.id);
      }
    }
    await this.audit.append({
      actor,
      action,
      sessionId,
      details: { revokedLeases, pendingLeases, cancelledRequests },
    });
    return { sessionId, revokedLeases, pendingLeases, cancelledRequests };
  }
}
