import { Inject, Injectable } from '@nestjs/common';
import {
  CLOCK,
  CoreError,
  CoreErrorCode,
  type AccessRequest,
  type Channel,
  type Clock,
  type Principal,
} from '@leash/core';
import type { RequestView } from '@leash/contracts';
import { ApprovalError, ApprovalErrorCode, assertEligibleApprover, evaluateQuorum } from '@leash/approvals';
import { approverGroupsOf } from '@leash/policy';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { notFound } from '../access-control';
import { POLICY_HOLDER, PUBLIC_URL } from '../broker.tokens';
import type { PolicyHolder } from '../policy/policy.holder';
import { approvalUrlOf, toRequestView } from '../views';
import { NotifyApprovers } from './notify-approvers.service';

const LOCK_TTL_MS = 5000;
const LOCK_ATTEMPTS = 60;

export interface DecideCommand {
  principal: Principal;
  id: string;
  decision: 'approve' | 'deny';
  comment?: string;
  channel: Channel;
  /** The digest the approver was shown (Slack buttons carry it); a changed request is refused. */
  expectedDigest?: string;
}

/** An approver approves or denies a pending request, bound to the request's current digest. */
@Injectable()
export class DecideRequest {
  constructor(
    @Inject(POLICY_HOLDER) private readonly policy: PolicyHolder,
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PUBLIC_URL) private readonly publicUrl: string,
    private readonly notify: NotifyApprovers,
  ) {}

  async execute(cmd: DecideCommand): Promise<RequestView> {
    const found = await this.store.getRequest(cmd.id);
    if (!found) {
      throw notFound(`request ${cmd.id}`);
    }
    const { request } = found;
    const groups = approverGroupsOf(this.policy.current.document, cmd.principal);
    assertEligibleApprover(request, request.approval, cmd.principal, groups);
    assertChannelAccepted(request, cmd.channel, this.publicUrl);
    if (request.state !== 'pending') {
      throw notPending(request);
    }
    if (cmd.expectedDigest !== undefined && cmd.expectedDigest !== request.digest) {
      throw this.approvalFailure('digest', request);
    }
    const token = await this.lock(request.id);
    try {
      return cmd.decision === 'approve' ? await this.approve(cmd, request, groups) : await this.deny(cmd, request);
    } finally {
      await this.store.unlockRequest(request.id, token).catch(() => undefined);
    }
  }

  /** Serializes decisions on one request, so two approvers at once never both count past the quorum. */
  private async lock(id: string): Promise<string> {
    for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt += 1) {
      const token = await this.store.lockRequest(id, LOCK_TTL_MS);
      if (token) {
        return token;
      }
      await new Promise((resolve) => setTimeout(resolve, 10 + attempt * 5));
    }
    throw new CoreError(CoreErrorCode.Unavailable, `request ${id} is busy; try again`);
  }

  private async approve(cmd: DecideCommand, request: AccessRequest, groups: string[]): Promise<RequestView> {
    const now = this.clock.now();
    const result = await this.store.addApproval(
      request.id,
      {
        approver: cmd.principal.id,
        groups,
        digest: request.digest,
        channel: cmd.channel,
        at: now,
        comment: cmd.comment,
      },
      now,
    );
    if (!result.ok) {
      throw this.approvalFailure(result.reason, request, result.state);
    }
    const current = result.approvals.filter((a) => a.digest === request.digest);
    const quorum =
      request.approval.kind === 'quorum'
        ? evaluateQuorum(request.approval.requirements, current)
        : { satisfied: true, progress: 'auto' };
    await this.audit.append({
      ...this.eventBase(cmd, request),
      action: 'request.approval_recorded',
      details: { progress: quorum.progress, comment: cmd.comment },
    });
    if (quorum.satisfied) {
      const claimWindow = request.approval.claimWindowSeconds * 1000;
      const moved = await this.store.transitionRequest({
        id: request.id,
        from: ['pending'],
        to: 'approved',
        now,
        deadline: 'before',
        expiresAt: now + claimWindow,
        decidedAt: now,
      });
      if (moved.ok) {
        await this.audit.append({
          ...this.eventBase(cmd, request),
          action: 'request.approved',
          decision: 'approved',
          details: {
            approvers: current.map((a) => a.approver),
            digest: request.digest,
          },
        });
      }
    }
    this.notify.update(request, {
      kind: 'approved',
      by: cmd.principal.id,
      final: quorum.satisfied,
      progress: quorum.progress,
      approvers: current.map((a) => a.approver),
    });
    return this.view(request.id);
  }

  private async deny(cmd: DecideCommand, request: AccessRequest): Promise<RequestView> {
    const now = this.clock.now();
    const moved = await this.store.transitionRequest({
      id: request.id,
      from: ['pending'],
      to: 'denied',
      now,
      deadline: 'before',
      expiresAt: null,
      decidedAt: now,
      denial: {
        by: cmd.principal.id,
        ...(cmd.comment ? { comment: cmd.comment } : {}),
      },
    });
    if (!moved.ok) {
      throw this.approvalFailure(moved.reason, request, moved.state);
    }
    await this.audit.append({
      ...this.eventBase(cmd, request),
      action: 'request.denied',
      decision: 'denied',
      details: { comment: cmd.comment },
    });
    this.notify.update(request, {
      kind: 'denied',
      by: cmd.principal.id,
      comment: cmd.comment,
    });
    return this.view(request.id);
  }

  private eventBase(cmd: DecideCommand, request: AccessRequest) {
    return {
      actor: { id: cmd.principal.id, channel: cmd.channel },
      requestId: request.id,
      sessionId: request.session?.id,
      role: request.role,
      environment: request.environment,
      risk: request.risk.level,
      policyVersion: request.policyVersion,
    };
  }

  private approvalFailure(reason: string, request: AccessRequest, state?: string): ApprovalError {
    switch (reason) {
      case 'duplicate':
        return new ApprovalError(ApprovalErrorCode.AlreadyDecided, 'you have already approved this request');
      case 'digest':
        return new ApprovalError(
          ApprovalErrorCode.DigestMismatch,
          'the request changed since it was shown to you; review it again',
        );
      case 'deadline':
        return new ApprovalError(ApprovalErrorCode.Expired, `request ${request.id} has expired`);
      default:
        return notPending({
          ...request,
          state: (state ?? request.state) as AccessRequest['state'],
        });
    }
  }

  private async view(id: string): Promise<RequestView> {
    const found = await this.store.getRequest(id);
    if (!found) {
      throw notFound(`request ${id}`);
    }
    return toRequestView(found.request, found.approvals, this.publicUrl);
  }
}

/** Roles may accept approvals only from some channels (e.g. the web console, where MFA is proven). */
function assertChannelAccepted(request: AccessRequest, channel: Channel, publicUrl: string): void {
  const channels = request.approval.kind === 'quorum' ? request.approval.channels : undefined;
  if (channels !== undefined && !channels.includes(channel)) {
    throw new ApprovalError(
      ApprovalErrorCode.ChannelNotAccepted,
      `role ${request.role} accepts approvals only through ${channels.join(', ')}`,
      { channels, approvalUrl: approvalUrlOf(publicUrl, request.id) },
    );
  }
}

function notPending(request: AccessRequest): ApprovalError {
  return new ApprovalError(ApprovalErrorCode.NotPending, `request ${request.id} is ${request.state}, not pending`, {
    state: request.state,
  });
}
