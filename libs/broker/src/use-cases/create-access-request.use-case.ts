import { Inject, Injectable } from '@nestjs/common';
import {
  canonicalDigest,
  CLOCK,
  ID_GENERATOR,
  type AccessRequest,
  type Clock,
  type IdGenerator,
  type Principal,
} from '@leash/core';
import type { CreateRequestBody, RequestView } from '@leash/contracts';
import { evaluateRequest, PolicyError, PolicyErrorCode } from '@leash/policy';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { approvalUrlOf, toRequestView } from '../views';
import { POLICY_HOLDER, PUBLIC_URL } from '../broker.tokens';
import type { PolicyHolder } from '../policy/policy.holder';
import { NotifyApprovers } from './notify-approvers.service';

/** A principal asks for a role in an environment; the policy decides, the request is recorded. */
@Injectable()
export class CreateAccessRequest {
  constructor(
    @Inject(POLICY_HOLDER) private readonly policy: PolicyHolder,
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(PUBLIC_URL) private readonly publicUrl: string,
    private readonly notify: NotifyApprovers,
  ) {}

  async execute(command: { principal: Principal; body: CreateRequestBody }): Promise<RequestView> {
    const { principal, body } = command;
    const policy = this.policy.current;
    const context = body.context ?? {};
    const evaluation = evaluateRequest(policy, {
      principal,
      role: body.role,
      environment: body.environment,
      ttlSeconds: body.ttlSeconds,
      plan: context.plan,
    });
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
    const now = this.clock.now();
    const id = this.ids.requestId();
    const rule = evaluation.approval;
    const digest = canonicalDigest({
      role: body.role,
      environment: body.environment,
      ttlSeconds: evaluation.ttlSeconds,
      scope: evaluation.role.settings,
      context,
      principal: principal.id,
      session: body.session?.id ?? null,
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
      },
    });
    if (request.state === 'pending') {
      this.notify.broadcast(request, approvalUrlOf(this.publicUrl, id));
    }
    return toRequestView(request, [], this.publicUrl);
  }
}
