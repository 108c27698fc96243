import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '@leash/core';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { BROKER_LOGGER, STALE_CLAIM_MS, type BrokerLogger } from '../broker.tokens';
import { REVOCATION_SCHEDULER, type RevocationScheduler } from '../revocation/revocation-scheduler.port';
import { NotifyApprovers } from './notify-approvers.service';
import { RevokeSession } from './revoke-session.use-case';
import { RecoverInterruptedClaims } from './recover-interrupted-claims.use-case';
import { ResumeBreakGlass } from './resume-break-glass.use-case';
import { HandOverDueRevocations } from './hand-over-due-revocations.use-case';

export interface ReconcileReport {
  overdueLeases: number;
  quarantineRetries: number;
  expiredRequests: number;
  idleSessions: number;
  /** Claims whose attempt died mid-claim, recovered (their possible credential revoked, the request freed). */
  recoveredClaims: number;
  /** Break glass runs whose process died halfway, taken over to be finished. */
  resumedBreakGlass: number;
  /** Entries of the index of every lease dropped because their lease records are gone (retention passed). */
  trimmedLeaseIndex: number;
}

const BATCH = 1000;

/** Index entries of finished leases dropped per pass at most (a pass every few seconds). */
const TRIM_LIMIT = 20_000;

/**
 * Safety net behind the delayed jobs: enqueues revocation for every lease past its expiry that is
 * still not revoked (a missed or deleted job), retries quarantined leases, and expires requests
 * whose approval timeout or claim window has passed, ends agent sessions idle past their limit, and
 * recovers claims whose attempt died before recording its lease, finishes break glass runs
 * whose process died halfway, and trims the index of every lease of entries whose records are gone.
 */
@Injectable()
export class Reconcile {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(REVOCATION_SCHEDULER)
    private readonly scheduler: RevocationScheduler,
    @Inject(BROKER_LOGGER) private readonly logger: BrokerLogger,
    @Inject(STALE_CLAIM_MS) private readonly staleClaimMs: number,
    private readonly notify: NotifyApprovers,
    private readonly revokeSession: RevokeSession,
    private readonly recoverClaims: RecoverInterruptedClaims,
    private readonly resumeBreakGlass: ResumeBreakGlass,
    private readonly handOver: HandOverDueRevocations,
  ) {}

  async execute(): Promise<ReconcileReport> {
    // First, so a request whose claim died is claimable again (or expired) before requests are expired.
    const { recovered: recoveredClaims } = await this.recoverClaims.execute();
    // A break glass its process left unfinished goes on in the background (it may cover many leases).
    const resumedBreakGlass = await this.resumeBreakGlass.execute();
    // The hand-over's own job may be held by a worker that died: leases due soon still get their job in time.
    const caughtUp = await this.handOver.catchUp();
    // A warning only when leases were late for their job; a first start (no hand-over yet) hands over nothing.
    if (caughtUp && caughtUp.handedOver > 0) {
      this.logger.warn('revocation hand-over was behind; the reconciler ran it', { ...caughtUp });
    }
    const now = this.clock.now();
    const overdue = await this.store.overdueLeases(now, BATCH);
    for (const id of overdue) {
      await this.scheduler.ensureScheduled(id, 'reconciler');
    }
    const quarantined = await this.store.quarantinedDue(now, BATCH);
    for (const id of quarantined) {
      await this.scheduler.ensureScheduled(id, 'reconciler');
    }
    let expiredRequests = 0;
    for (const id of await this.store.overdueRequests(now, BATCH)) {
      const found = await this.store.getRequest(id);
      // A claim still issuing long after its window closed was interrupted (API crash, Redis lost
      // mid-claim). Expiring it frees the deadline index; a late recordLease then fails and revokes.
      const interrupted = found?.request.state === 'issuing' && now >= found.request.expiresAt + this.staleClaimMs;
      const moved = await this.store.transitionRequest({
        id,
        from: interrupted ? ['issuing'] : ['pending', 'approved'],
        to: 'expired',
        now,
        deadline: 'after',
        expiresAt: null,
        ...(interrupted ? { reason: 'claim_interrupted' } : {}),
      });
      if (moved.ok && found) {
        expiredRequests += 1;
        await this.audit.append({
          actor: { id: 'system', channel: 'system' },
          action: 'request.expired',
          requestId: id,
          sessionId: found.request.session?.id,
          role: found.request.role,
          environment: found.request.environment,
          policyVersion: found.request.policyVersion,
          details: {
            from: found.request.state,
            ...(interrupted
              ? {
                  note:
                    'the claim did not finish (the broker stopped or lost Redis mid-claim); no credential was ' +
                    'handed out, and one recorded late is revoked at once',
                }
              : {}),
          },
        });
        this.notify.update(found.request, { kind: 'expired' });
      }
    }
    // Agent sessions that stopped heartbeating past their idle limit: revoke their leases, cancel their requests.
    let idleSessions = 0;
    for (const id of await this.store.idleSessions(now, BATCH)) {
      const ended = await this.revokeSession.expireIdle(id);
      if (ended) {
        idleSessions += 1;
        this.logger.log('idle agent session ended', { sessionId: id, revokedLeases: ended.revokedLeases.length });
      }
    }
    // The index of every lease names no record retention removed (beyond the oldest still kept).
    const trimmedLeaseIndex = await this.store.trimLeaseIndex(TRIM_LIMIT);
    if (overdue.length > 0 || quarantined.length > 0) {
      this.logger.log('reconciler enqueued revocations', {
        overdue: overdue.length,
        quarantined: quarantined.length,
      });
    }
    return {
      overdueLeases: overdue.length,
      quarantineRetries: quarantined.length,
      expiredRequests,
      idleSessions,
      recoveredClaims,
      resumedBreakGlass,
      trimmedLeaseIndex,
    };
  }
}
