import { hostname } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import {
  CLOCK,
  CoreError,
  CoreErrorCode,
  fingerprintSecret,
  ID_GENERATOR,
  randomBase32,
  type AccessRequest,
  type Clock,
  type IdGenerator,
  type Lease,
  type Principal,
} from '@leash/core';
import type { ClaimResponse } from '@leash/contracts';
import { LEASE_STORE, LeaseError, LeaseErrorCode, type ClaimIntent, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import {
  ProviderError,
  type ClaimPlan,
  type CredentialProvider,
  type IssueCommand,
  type IssuedCredential,
  type ProviderRegistry,
} from '@leash/providers';
import { forbidden, isRequester, notFound } from '../access-control';
import {
  BROKER_LOGGER,
  CLAIM_DEAD_AFTER_MS,
  POLICY_HOLDER,
  PROVIDER_REGISTRY,
  type BrokerLogger,
} from '../broker.tokens';
import type { PolicyHolder } from '../policy/policy.holder';
import { REVOCATION_SCHEDULER, type RevocationScheduler } from '../revocation/revocation-scheduler.port';
import { POLICY_CHANGED_PREFIX, isClosedByPolicyChange, roleFingerprint } from '../policy/role-fingerprint';
import { toLeaseView } from '../views';
import { approvalReceiptOf } from '../approval-receipt';
import { traceCarrier } from '../observability/tracing';
import { fencesOf, sessionFence } from '../revocation/fences';
import type { StoreHealth } from '../store-health/store-health.service';
import { STORE_HEALTH } from '../store-health/store-health.tokens';
import { NotifyApprovers } from './notify-approvers.service';
import { RecentAutoApproved } from '../requests/recent-auto-approved';
import { RevokeLease } from './revoke-lease.use-case';

/**
 * The requester claims the credential of an approved request, exactly once: the request moves
 * approved → issuing atomically, the provider mints, the lease is recorded, and its revocation is
 * scheduled at expiry. The secret is returned here only and never stored.
 *
 * Crash safety: taking the claim records the attempt's intent (lease id, the identity the
 * credential will carry, how to revoke it) before the provider is called, and the attempt
 * heartbeats it; the lease record replaces it. If the process dies in between, the reconciler
 * finds the intent past its deadline, revokes whatever may have been minted, and frees the request.
 */
@Injectable()
export class ClaimCredential {
  /** This process, as the owner of its claim attempts. */
  private readonly owner = `${hostname()}/${process.pid}/${randomBase32(8)}`;

  constructor(
    @Inject(POLICY_HOLDER) private readonly policy: PolicyHolder,
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(PROVIDER_REGISTRY) private readonly providers: ProviderRegistry,
    @Inject(REVOCATION_SCHEDULER)
    private readonly scheduler: RevocationScheduler,
    @Inject(BROKER_LOGGER) private readonly logger: BrokerLogger,
    private readonly notify: NotifyApprovers,
    private readonly revoke: RevokeLease,
    @Inject(STORE_HEALTH) private readonly storeHealth: StoreHealth,
    @Inject(CLAIM_DEAD_AFTER_MS) private readonly deadAfterMs: number,
    private readonly recent: RecentAutoApproved,
  ) {}

  async execute(cmd: { principal: Principal; id: string }): Promise<ClaimResponse> {
    // Fail closed: no credential while Redis lost its data or cannot record the lease.
    this.storeHealth.assertIssuable();
    // An auto-approved request this process just created is not read back: what the claim takes from it never
    // changes, and whether it can be claimed is decided by beginClaim below, atomically, as for any request.
    const recent = this.recent.take(cmd.id, this.clock.now());
    const found = recent ? { request: recent, approvals: [] } : await this.store.getRequest(cmd.id);
    if (!found) {
      throw notFound(`request ${cmd.id}`);
    }
    const { request, approvals } = found;
    if (!isRequester(request, cmd.principal)) {
      throw forbidden('only the requester can claim the credential');
    }
    const now = this.clock.now();
    const leaseId = this.ids.leaseId();
    const command: IssueCommand = {
      leaseId,
      requestId: request.id,
      role: { id: request.role, settings: frozenSettings(request) },
      environment: request.environment,
      principal: request.principal,
      owner: request.owner,
      sessionId: request.session?.id,
      ttlSeconds: request.ttlSeconds,
      issuedAt: now,
      expiresAt: now + request.ttlSeconds * 1000,
      approval: approvalReceiptOf(request, approvals),
    };
    const { provider, intent } = await this.intentOf(request, command, now);
    await this.take(request, intent);
    // The claim mints what was approved: the role settings frozen into the request. If the policy
    // changed the role since, the approval covered something else: a new decision is needed.
    const changed = this.policyChange(request);
    if (changed !== undefined) {
      await this.store.abandonClaim(intent, this.clock.now());
      await this.closeChanged(request, changed);
      throw policyChanged(request.id, changed);
    }
    const heartbeat = this.heartbeat(intent);
    try {
      return await this.issueAndRecord(request, provider, command, intent);
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async issueAndRecord(
    request: AccessRequest,
    provider: CredentialProvider,
    command: IssueCommand,
    intent: ClaimIntent,
  ): Promise<ClaimResponse> {
    const { leaseId, issuedAt: now, approval } = command;
    let issued: IssuedCredential;
    try {
      issued = await provider.issue(command);
    } catch (err) {
      await this.auditIssueFailed(request, err);
      if (err instanceof ProviderError && err.outcomeUnknown) {
        // No answer (connection lost, timeout): the provider may have minted. The intent stays and, without
        // heartbeats, soon counts as dead: the reconciler revokes what may exist and frees the request.
        this.logger.warn('provider call ended without an answer; the reconciler recovers the claim', {
          requestId: request.id,
          leaseId,
          provider: request.provider,
        });
        throw err;
      }
      // The provider answered with a refusal, so it minted nothing: the intent goes, the request is claimable again.
      await this.store
        .abandonClaim(intent, this.clock.now())
        .catch((unlockErr: unknown) =>
          this.logger.error('could not release claim lock', { requestId: request.id, err: String(unlockErr) }),
        );
      throw err;
    }
    const issueMs = this.clock.now() - now;
    const lease: Lease = {
      id: leaseId,
      requestId: request.id,
      state: 'active',
      role: request.role,
      environment: request.environment,
      provider: request.provider,
      principal: request.principal,
      issuer: request.issuer,
      ...(request.owner ? { owner: request.owner } : {}),
      ...(request.session ? { sessionId: request.session.id } : {}),
      issuedAt: now,
      expiresAt: Math.min(issued.expiresAt, now + request.ttlSeconds * 1000),
      fingerprint: fingerprintSecret(issued.secret),
      providerRef: issued.providerRef,
      attempts: 0,
    };
    const fenced = await this.record(lease, issued, request.provider);
    await this.audit.append({
      actor: { id: request.principal, channel: 'api' },
      action: 'credential.issued',
      requestId: request.id,
      leaseId,
      sessionId: lease.sessionId,
      role: lease.role,
      environment: lease.environment,
      risk: request.risk.level,
      policyVersion: request.policyVersion,
      provider: lease.provider,
      providerRef: lease.providerRef,
      details: {
        expiresAt: new Date(lease.expiresAt).toISOString(),
        fingerprint: lease.fingerprint,
        issueMs,
        // The same receipt the credential carries (JWT claim, AWS session tags, Kubernetes annotations).
        approval,
      },
    });
    this.notify.update(request, { kind: 'issued', leaseId });
    await this.revokeIfEndedMeanwhile(lease, request.createdAt, fenced);
    return { lease: toLeaseView(lease), credential: issued.credential };
  }

  /** What the claim records before calling the provider; a provider that cannot even plan refuses the claim. */
  private async intentOf(
    request: AccessRequest,
    command: IssueCommand,
    now: number,
  ): Promise<{ provider: CredentialProvider; intent: ClaimIntent }> {
    let provider: CredentialProvider;
    let plan: ClaimPlan | undefined;
    try {
      provider = this.providers.get(request.provider);
      plan = provider.plan?.(command);
    } catch (err) {
      await this.auditIssueFailed(request, err);
      throw err;
    }
    const intent: ClaimIntent = {
      leaseId: command.leaseId,
      requestId: request.id,
      provider: request.provider,
      role: request.role,
      environment: request.environment,
      principal: request.principal,
      ...(request.session ? { sessionId: request.session.id } : {}),
      identity: plan?.identity ?? {},
      handle: plan?.handle ?? {},
      ttlSeconds: request.ttlSeconds,
      owner: this.owner,
      startedAt: now,
      deadline: now + this.deadAfterMs,
    };
    return { provider, intent };
  }

  /** Keeps the attempt's intent alive while the provider works; a missed beat lets the reconciler take over. */
  private heartbeat(intent: ClaimIntent): NodeJS.Timeout {
    const timer = setInterval(
      () => {
        this.store
          .heartbeatClaim(intent.leaseId, this.clock.now() + this.deadAfterMs)
          .catch((err: unknown) =>
            this.logger.warn('claim heartbeat failed', { leaseId: intent.leaseId, err: String(err) }),
          );
      },
      Math.max(100, Math.floor(this.deadAfterMs / 3)),
    );
    timer.unref();
    return timer;
  }

  private async auditIssueFailed(request: AccessRequest, err: unknown): Promise<void> {
    await this.audit
      .append({
        actor: { id: 'system', channel: 'system' },
        action: 'credential.issue_failed',
        requestId: request.id,
        role: request.role,
        environment: request.environment,
        policyVersion: request.policyVersion,
        details: err instanceof ProviderError ? { providerCode: err.providerCode, code: err.code } : {},
      })
      .catch(() => undefined);
  }

  private async take(request: AccessRequest, intent: ClaimIntent): Promise<void> {
    const now = this.clock.now();
    const moved = await this.store.beginClaim(intent, now);
    if (moved.ok) {
      return;
    }
    if (moved.reason === 'missing') {
      // Gone from the store (a request taken from this process's recent ones, or deleted since it was read).
      throw notFound(`request ${request.id}`);
    }
    const state = moved.state ?? request.state;
    if (state === 'expired' || state === 'cancelled') {
      const current = (await this.store.getRequest(request.id))?.request ?? request;
      if (isClosedByPolicyChange(current)) {
        throw policyChanged(request.id, current.closedReason ?? '');
      }
    }
    if (moved.reason === 'deadline' || state === 'expired') {
      throw new CoreError(CoreErrorCode.Conflict, `the claim window of request ${request.id} has closed`, {
        state: 'expired',
        expired: true,
      });
    }
    if (state === 'issuing') {
      // Another attempt holds the claim: alive, or dead and about to be recovered by the reconciler.
      const until = moved.claimDeadline ?? now + this.deadAfterMs;
      throw new CoreError(
        CoreErrorCode.Conflict,
        `a claim of request ${request.id} is in progress; if it does not finish, the request can be claimed again once that attempt is known dead`,
        { state, claimInProgress: true, retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000) + 1) },
      );
    }
    if (state === 'issued') {
      throw new CoreError(CoreErrorCode.Conflict, `the credential of request ${request.id} was already claimed`, {
        state,
        alreadyClaimed: true,
      });
    }
    throw new CoreError(CoreErrorCode.Conflict, `request ${request.id} is ${state}, not approved`, { state });
  }

  /**
   * A session end or break glass that happened while this claim was minting could not see the
   * lease yet (it lists leases after raising its fence); the claim sees the fence instead, after
   * recording, and revokes the lease now. The credential is not handed out. Fences raised before
   * the request was made do not concern it. `fenced` is the latest fence of the lease, read with its record.
   */
  private async revokeIfEndedMeanwhile(lease: Lease, requestedAt: number, fenced: number | undefined): Promise<void> {
    if (fenced === undefined || fenced < requestedAt) {
      return;
    }
    const reason = lease.sessionId && (await this.store.latestFence([sessionFence(lease.sessionId)])) === fenced;
    const revoked = await this.revoke.execute({
      leaseId: lease.id,
      reason: reason ? 'session' : 'break_glass',
      actor: { id: 'system', channel: 'system' },
      final: false,
    });
    if (revoked.outcome === 'retry') {
      await this.scheduler.revokeSoon(lease.id, reason ? 'session' : 'break_glass');
    }
    throw new CoreError(
      CoreErrorCode.Conflict,
      `the ${reason ? 'agent session' : 'access (break glass)'} ended while the credential of request ${lease.requestId} was being issued; lease ${lease.id} is revoked`,
      { state: 'revoked', leaseId: lease.id },
    );
  }

  /** Why the policy in force no longer matches what the request was decided under, if it does not. */
  private policyChange(request: AccessRequest): string | undefined {
    const policy = this.policy.current;
    const current = roleFingerprint(policy, request.role, request.environment);
    if (current === undefined) {
      return `role "${request.role}" was removed (policy ${policy.version})`;
    }
    if (current !== request.roleFingerprint) {
      return `role "${request.role}" changed since the request was decided (policy ${policy.version})`;
    }
    return undefined;
  }

  private async closeChanged(request: AccessRequest, why: string): Promise<void> {
    const closedReason = `${POLICY_CHANGED_PREFIX}${why}; ask again for a new decision`;
    const moved = await this.store.transitionRequest({
      id: request.id,
      from: ['approved'],
      to: 'expired',
      now: this.clock.now(),
      expiresAt: null,
      reason: closedReason,
    });
    if (!moved.ok) {
      return;
    }
    await this.audit.append({
      actor: { id: 'system', channel: 'system' },
      action: 'request.expired',
      requestId: request.id,
      sessionId: request.session?.id,
      role: request.role,
      environment: request.environment,
      policyVersion: this.policy.current.version,
      details: { reason: closedReason, createdUnder: request.policyVersion },
    });
    this.notify.update({ ...request, state: 'expired', closedReason }, { kind: 'expired' });
  }

  /**
   * Records the lease; if that fails the minted credential is revoked at once (fail closed). Returns the latest
   * fence that would end the lease (session end, break glass), read atomically with the record.
   */
  private async record(lease: Lease, issued: IssuedCredential, kind: Lease['provider']): Promise<number | undefined> {
    let scheduleNow = true;
    let fenced: number | undefined;
    try {
      // The issuance's trace context (if traced) is kept with the lease, so its revocation joins the trace.
      const recorded = await this.store.recordLease(
        lease,
        issued.revocationHandle,
        this.clock.now(),
        traceCarrier(),
        fencesOf(lease),
      );
      if (!recorded.ok) {
        throw new CoreError(CoreErrorCode.Conflict, `request ${lease.requestId} changed while issuing`);
      }
      scheduleNow = recorded.scheduleNow;
      fenced = recorded.latestFence;
    } catch (err) {
      // Recorded on the master but not on enough replicas: a failover could lose it, so the lease is
      // revoked now (recorded and audited where Redis still takes it) and no secret is handed out.
      if (await this.revokeUnreplicated(lease, err)) {
        throw err;
      }
      await this.providers
        .get(kind)
        .revoke({
          leaseId: lease.id,
          expiresAt: lease.expiresAt,
          handle: issued.revocationHandle,
        })
        .catch((revokeErr: unknown) =>
          this.logger.error('could not revoke an unrecorded credential', {
            leaseId: lease.id,
            err: String(revokeErr),
          }),
        );
      throw err;
    }
    if (!scheduleNow) {
      // The worker's hand-over moves the lease from the expiry index into a job shortly before it is due.
      return fenced;
    }
    try {
      await this.scheduler.scheduleAtExpiry(lease.id, lease.expiresAt, this.clock.now());
    } catch (err) {
      // The reconciler revokes overdue leases without a job; log so operators see the queue trouble.
      this.logger.warn('could not schedule revocation job; the reconciler will revoke at expiry', {
        leaseId: lease.id,
        err: String(err),
      });
    }
    return fenced;
  }

  private async revokeUnreplicated(lease: Lease, err: unknown): Promise<boolean> {
    if (!(err instanceof LeaseError && err.code === LeaseErrorCode.NotReplicated)) {
      return false;
    }
    this.logger.error('lease not acknowledged by enough Redis replicas; revoking its credential', {
      leaseId: lease.id,
      err: err.message,
    });
    const revoked = await this.revoke
      .execute({
        leaseId: lease.id,
        reason: 'not_replicated',
        actor: { id: 'system', channel: 'system' },
        final: false,
      })
      .catch(() => undefined);
    return revoked?.outcome === 'revoked' || revoked?.outcome === 'already_revoked';
  }
}

function policyChanged(id: string, why: string): CoreError {
  return new CoreError(CoreErrorCode.Conflict, `the policy changed since request ${id} was decided: ${why}`, {
    state: 'expired',
    policyChanged: true,
  });
}

/** The role settings frozen into the request when it was decided (what its digest covers). */
function frozenSettings(request: AccessRequest): Record<string, unknown> {
  return typeof request.scope === 'object' && request.scope !== null ? (request.scope as Record<string, unknown>) : {};
}
