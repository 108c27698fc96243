import { Inject, Injectable } from '@nestjs/common';
import {
  CLOCK,
  CoreError,
  CoreErrorCode,
  fingerprintSecret,
  ID_GENERATOR,
  type AccessRequest,
  type Clock,
  type IdGenerator,
  type Lease,
  type Principal,
} from '@leash/core';
import type { ClaimResponse } from '@leash/contracts';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { ProviderError, type IssuedCredential, type ProviderRegistry } from '@leash/providers';
import { forbidden, isRequester, notFound } from '../access-control';
import { BROKER_LOGGER, POLICY_HOLDER, PROVIDER_REGISTRY, type BrokerLogger } from '../broker.tokens';
import type { PolicyHolder } from '../policy/policy.holder';
import { REVOCATION_SCHEDULER, type RevocationScheduler } from '../revocation/revocation-scheduler.port';
import { toLeaseView } from '../views';
import { NotifyApprovers } from './notify-approvers.service';

/**
 * The requester claims the credential of an approved request, exactly once: the request moves
 * approved → issuing atomically, the provider mints, the lease is recorded, and its revocation is
 * scheduled at expiry. The secret is returned here only and never stored.
 */
@Injectable()
export class ClaimCredential {
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
  ) {}

  async execute(cmd: { principal: Principal; id: string }): Promise<ClaimResponse> {
    const found = await this.store.getRequest(cmd.id);
    if (!found) {
      throw notFound(`request ${cmd.id}`);
    }
    const { request } = found;
    if (!isRequester(request, cmd.principal)) {
      throw forbidden('only the requester can claim the credential');
    }
    await this.lock(request);
    const role = this.policy.current.document.roles.find((r) => r.id === request.role);
    if (!role) {
      await this.unlock(request);
      throw new CoreError(CoreErrorCode.Conflict, `role ${request.role} is no longer in the policy`);
    }
    const now = this.clock.now();
    const leaseId = this.ids.leaseId();
    let issued: IssuedCredential;
    try {
      issued = await this.providers.get(role.provider).issue({
        leaseId,
        requestId: request.id,
        role: { id: role.id, settings: role.settings },
        environment: request.environment,
        principal: request.principal,
        owner: request.owner,
        sessionId: request.session?.id,
        ttlSeconds: request.ttlSeconds,
        issuedAt: now,
        expiresAt: now + request.ttlSeconds * 1000,
      });
    } catch (err) {
      await this.unlock(request);
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
      throw err;
    }
    const issueMs = this.clock.now() - now;
    const lease: Lease = {
      id: leaseId,
      requestId: request.id,
      state: 'active',
      role: request.role,
      environment: request.environment,
      provider: role.provider,
      principal: request.principal,
      ...(request.owner ? { owner: request.owner } : {}),
      ...(request.session ? { sessionId: request.session.id } : {}),
      issuedAt: now,
      expiresAt: Math.min(issued.expiresAt, now + request.ttlSeconds * 1000),
      fingerprint: fingerprintSecret(issued.secret),
      providerRef: issued.providerRef,
      attempts: 0,
    };
    await this.record(lease, issued, role.provider);
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
      },
    });
    this.notify.update(request, { kind: 'issued', leaseId });
    return { lease: toLeaseView(lease), credential: issued.credential };
  }

  private async lock(request: AccessRequest): Promise<void> {
    const moved = await this.store.transitionRequest({
      id: request.id,
      from: ['approved'],
      to: 'issuing',
      now: this.clock.now(),
      deadline: 'before',
    });
    if (moved.ok) {
      return;
    }
    const state = moved.state ?? request.state;
    if (moved.reason === 'deadline' || state === 'expired') {
      throw new CoreError(CoreErrorCode.Conflict, `the claim window of request ${request.id} has closed`, {
        state: 'expired',
        expired: true,
      });
    }
    if (state === 'issuing' || state === 'issued') {
      throw new CoreError(CoreErrorCode.Conflict, `the credential of request ${request.id} was already claimed`, {
        state,
        alreadyClaimed: true,
      });
    }
    throw new CoreError(CoreErrorCode.Conflict, `request ${request.id} is ${state}, not approved`, { state });
  }

  private async unlock(request: AccessRequest): Promise<void> {
    await this.store
      .transitionRequest({
        id: request.id,
        from: ['issuing'],
        to: 'approved',
        now: this.clock.now(),
      })
      .catch((err: unknown) =>
        this.logger.error('could not release claim lock', {
          requestId: request.id,
          err: String(err),
        }),
      );
  }

  /** Records the lease; if that fails the minted credential is revoked at once (fail closed). */
  private async record(lease: Lease, issued: IssuedCredential, kind: Lease['provider']): Promise<void> {
    try {
      const recorded = await this.store.recordLease(lease, issued.revocationHandle, this.clock.now());
      if (!recorded.ok) {
        throw new CoreError(CoreErrorCode.Conflict, `request ${lease.requestId} changed while issuing`);
      }
    } catch (err) {
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
    try {
      await this.scheduler.scheduleAtExpiry(lease.id, lease.expiresAt, this.clock.now());
    } catch (err) {
      // The reconciler revokes overdue leases without a job; log so operators see the queue trouble.
      this.logger.warn('could not schedule revocation job; the reconciler will revoke at expiry', {
        leaseId: lease.id,
        err: String(err),
      });
    }
  }
}
