import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, ID_GENERATOR, type AccessRequest, type Clock, type IdGenerator, type Principal } from '@leash/core';
import type { CreateRequestBody, RequestView } from '@leash/contracts';
import { PolicyError, PolicyErrorCode, principalAllowed } from '@leash/policy';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { forbidden } from '../access-control';
import { approvalUrlOf, toRequestView } from '../views';
import { PUBLIC_URL } from '../broker.tokens';
import { PolicyDecisions } from '../policy/policy-decisions.service';
import { requestDigest } from '../request-digest';
import { roleFingerprint } from '../policy/role-fingerprint';
import { NotifyApprovers } from './notify-approvers.service';
import { RecentAutoApproved } from '../requests/recent-auto-approved';
import { ProviderAvailability } from '../providers/provider-availability.service';
import { POLICY_HOLDER } from '../broker.tokens';
import type { PolicyHolder } from '../policy/policy.holder';

/** A principal asks for a role in an environment; the policy decides, the request is recorded. */
@Injectable()
export class CreateAccessRequest {
  constructor(
    private readonly decisions: PolicyDecisions,
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(PUBLIC_URL) private readonly publicUrl: string,
    private readonly notify: NotifyApprovers,
    private readonly recent: RecentAutoApproved,
    private readonly providers: ProviderAvailability,
    @Inject(POLICY_HOLDER) private readonly holder: PolicyHolder,
  ) {}

  async execute(command: { principal: Principal; body: CreateRequestBody }): Promise<RequestView> {
    const { principal, body } = command;
    const context = body.context ?? {};
    if (body.session) {
      // Checked before the policy spends any auto-approval budget; bound once the request is allowed.
      await this.assertSessionFree(body.session.id, principal);
    }
    // Nothing is asked of approvers (nor of the auto-approval budget) for a role that cannot be issued now.
    const role = this.holder.current.document.roles.find((r) => r.id === body.role);
    if (role && role.environments.includes(body.environment) && principalAllowed(role, principal)) {
      await this.providers.assertAvailable(role.provider, role.settings);
    }
    const id = this.ids.requestId();
    const { policy, evaluation } = await this.decisions.decide(
      { principal, role: body.role, environment: body.environment, ttlSeconds: body.ttlSeconds, context },
      { spend: id },
    );
    if (evaluation.decision === 'denied') {
      await this.audit.append({
        actor: { id: principal.id, channel: 'api' },
        action: 'request.denied_by_policy',
        sessionId: body.session?.id,
        role: body.role,
        environment: body.environment,
        decision: 'denied',
        policyVersion: policy.version,
        details: { reasons: evaluation.reasons },
      });
      throw new PolicyError(PolicyErrorCode.Denied, evaluation.reasons.join('; '), { reasons: evaluation.reasons });
    }
    if (body.session) {
      await this.bindSession(body.session.id, principal);
    }
    const now = this.clock.now();
    const rule = evaluation.approval;
    const fingerprint = roleFingerprint(policy, body.role, body.environment);
    const digest = requestDigest({
      role: body.role,
      environment: body.environment,
      ttlSeconds: evaluation.ttlSeconds,
      scope: evaluation.role.settings,
      roleFingerprint: fingerprint,
      context,
      principal: principal.id,
      session: body.session,
    });
    const request: AccessRequest = {
      id,
      state: evaluation.decision === 'auto_approved' ? 'approved' : 'pending',
      role: body.role,
      environment: body.environment,
      ttlSeconds: evaluation.ttlSeconds,
      reason: body.reason,
      principal: principal.id,
      issuer: principal.issuer,
      ...(principal.owner ? { owner: principal.owner } : {}),
      ...(body.session ? { session: body.session } : {}),
      context,
      decision: evaluation.decision,
      approval: rule,
      provider: evaluation.role.provider,
      risk: evaluation.risk,
      digest,
      scope: evaluation.role.settings,
      ...(fingerprint ? { roleFingerprint: fingerprint } : {}),
      principalGroups: principal.groups,
      ...(principal.email ? { principalEmail: principal.email } : {}),
      decisionReasons: evaluation.reasons,
      policyVersion: policy.version,
      createdAt: now,
      expiresAt: now + 1000 * (rule.kind === 'auto' ? rule.claimWindowSeconds : rule.timeoutSeconds),
      ...(evaluation.decision === 'auto_approved' ? { decidedAt: now } : {}),
    };
    await this.store.createRequest(request);
    await this.audit.append({
      actor: { id: principal.id, channel: 'api' },
      action: 'request.created',
      requestId: id,
      sessionId: body.session?.id,
      role: body.role,
      environment: body.environment,
      decision: evaluation.decision,
      risk: evaluation.risk.level,
      policyVersion: policy.version,
      details: {
        ttlSeconds: evaluation.ttlSeconds,
        digest,
        owner: principal.owner,
        reasons: evaluation.reasons,
        riskReasons: evaluation.risk.reasons,
        matched: evaluation.matched,
      },
    });
    if (request.state === 'pending') {
      this.notify.broadcast(request, approvalUrlOf(this.publicUrl, id));
    }
    // Recorded and audited: its claim in this process need not read it back (the store still decides the claim).
    this.recent.remember(request);
    return toRequestView(request, [], this.publicUrl);
  }

  private async assertSessionFree(sessionId: string, principal: Principal): Promise<void> {
    const owner = await this.store.sessionOwner(sessionId);
    if (owner && (owner.principal !== principal.id || owner.issuer !== principal.issuer)) {
      throw forbidden(`session ${sessionId} belongs to another principal`);
    }
  }

  /** A request may name only a session of its own principal (an unregistered id becomes its own). */
  private async bindSession(sessionId: string, principal: Principal): Promise<void> {
    const bound = await this.store.bindSession(sessionId, { principal: principal.id, issuer: principal.issuer });
    if (!bound.ok) {
      throw forbidden(`session ${sessionId} belongs to another principal`);
    }
  }
}
