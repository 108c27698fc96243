import { Inject, Injectable } from '@nestjs/common';
import {
  CLOCK,
  CoreError,
  CoreErrorCode,
  type AccessRequest,
  type Approval,
  type Channel,
  type Clock,
  type Principal,
} from '@leash/core';
import type { RequestView } from '@leash/contracts';
import {
  ApprovalError,
  ApprovalErrorCode,
  assertApprovalChannelAndMfa,
  assertEligibleApprover,
  evaluateQuorum,
} from '@leash/approvals';
import type { ResolvedIdentity } from '@leash/policy';
import {
  LEASE_STORE,
  type AddApprovalResult,
  type FoundRequest,
  type LeaseStore,
  type QuorumCompletion,
} from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { notFound } from '../access-control';
import { Identities } from '../auth/identities';
import { LocalRequestUpdates } from '../requests/local-request-updates';
import { POLICY_HOLDER, PUBLIC_URL } from '../broker.tokens';
import type { PolicyHolder } from '../policy/policy.holder';
import { requestDigest } from '../request-digest';
import { toRequestView } from '../views';
import { NotifyApprovers } from './notify-approvers.service';

const LOCK_TTL_MS = 5000;
const LOCK_ATTEMPTS = 60;

export interface DecideCommand {
  /** The acting identity: the API token's or the console login's; for Slack, a stand-in naming the person. */
  principal: Principal;
  /** A Slack click: the person is the policy member listing this Slack user id (no token, so no MFA evidence). */
  slackUser?: string;
  id: string;
  decision: 'approve' | 'deny';
  comment?: string;
  channel: Channel;
  /** The digest the approver was shown (Slack buttons carry it); a changed request is refused. */
  expectedDigest?: string;
  /** Approve only: narrow the request to this shorter TTL before approving. */
  ttlSeconds?: number;
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
    private readonly identities: Identities,
    private readonly updates: LocalRequestUpdates,
  ) {}

  /**
   * The request is read under the decision lock (one round trip with taking it) and checked there;
   * `check` adds a channel's own checks (the console's), run first on that same read.
   */
  async execute(cmd: DecideCommand, check?: (found: FoundRequest) => void): Promise<RequestView> {
    const { token, locked: found } = await this.lock(cmd.id);
    try {
      return await this.decide(cmd, found, check);
    } finally {
      await this.store.unlockRequest(cmd.id, token).catch(() => undefined);
    }
  }

  private async decide(
    cmd: DecideCommand,
    found: FoundRequest | undefined,
    check?: (found: FoundRequest) => void,
  ): Promise<RequestView> {
    if (!found) {
      throw notFound(`request ${cmd.id}`);
    }
    check?.(found);
    const { request } = found;
    const approver = this.approverOf(cmd);
    assertEligibleApprover(request, request.approval, approver);
    if (request.state !== 'pending') {
      throw notPending(request);
    }
    if (cmd.expectedDigest !== undefined && cmd.expectedDigest !== request.digest) {
      throw this.approvalFailure('digest', request);
    }
    if (cmd.decision === 'deny' && cmd.ttlSeconds !== undefined) {
      throw new ApprovalError(
        ApprovalErrorCode.InvalidNarrowing,
        'ttlSeconds narrows an approval; a denial takes none',
      );
    }
    if (cmd.decision === 'approve') {
      const evidence = cmd.slackUser !== undefined ? {} : cmd.principal;
      assertApprovalChannelAndMfa(request.approval, evidence, cmd.channel, this.clock.now());
    }
    return cmd.decision === 'approve'
      ? this.approve(cmd, request, approver, found.approvals)
      : this.deny(cmd, request, approver);
  }

  /** The person deciding, however they act; one person has one key, so quorum counts persons. */
  private approverOf(cmd: DecideCommand): ResolvedIdentity {
    if (cmd.slackUser === undefined) {
      return this.identities.of(cmd.principal);
    }
    const person = this.identities.ofSlackUser(cmd.slackUser);
    if (!person) {
      throw new ApprovalError(
        ApprovalErrorCode.NotApprover,
        `Slack user ${cmd.slackUser} is not a member of the policy`,
      );
    }
    return person;
  }

  /**
   * Serializes decisions on one request, so two approvers at once never both count past the quorum.
   * Returns the request as read under the lock (same round trip as taking it).
   */
  private async lock(id: string): Promise<{ token: string; locked?: FoundRequest }> {
    for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt += 1) {
      const { token, found } = await this.store.lockAndGetRequest(id, LOCK_TTL_MS);
      if (token) {
        return { token, locked: found };
      }
      await new Promise((resolve) => setTimeout(resolve, 10 + attempt * 5));
    }
    throw new CoreError(CoreErrorCode.Unavailable, `request ${id} is busy; try again`);
  }

  /** `approvalsUnderLock`: the approvals as read when the lock was taken. */
  private async approve(
    cmd: DecideCommand,
    original: AccessRequest,
    approver: ResolvedIdentity,
    approvalsUnderLock: Approval[],
  ): Promise<RequestView> {
    const now = this.clock.now();
    const narrowing = cmd.ttlSeconds !== undefined && cmd.ttlSeconds !== original.ttlSeconds;
    const request = narrowing ? this.narrowed(original, cmd.ttlSeconds!, approver.key) : original;
    const approval: Approval = {
      approver: approver.key,
      groups: approver.groups,
      digest: request.digest,
      channel: cmd.channel,
      at: now,
      comment: cmd.comment,
    };
    // The approval that completes the quorum moves the request to approved in the same write, so no
    // reader (nor a crash) ever sees a met quorum on a pending request. Completion is decided on the
    // approvals as they are now (under the lock); the store refuses ('changed') if they moved since.
    let result: AddApprovalResult = { ok: false, reason: 'changed' };
    let quorum: { satisfied: boolean; progress: string } = { satisfied: false, progress: '' };
    let completes: QuorumCompletion | undefined;
    for (let attempt = 0; attempt < 3 && !result.ok && result.reason === 'changed'; attempt += 1) {
      // The first attempt counts the approvals read when the lock was taken; a retry reads them again.
      const approvals =
        attempt === 0 ? approvalsUnderLock : ((await this.store.getRequest(original.id))?.approvals ?? []);
      const others = approvals.filter((a) => a.digest === request.digest && a.approver !== approver.key);
      quorum =
        request.approval.kind === 'quorum'
          ? evaluateQuorum(request.approval.requirements, [...others, approval])
          : { satisfied: true, progress: 'auto' };
      completes = quorum.satisfied
        ? { counted: others.length, expiresAt: now + request.approval.claimWindowSeconds * 1000, decidedAt: now }
        : undefined;
      result = narrowing
        ? await this.store.narrowAndApprove(
            original.id,
            {
              fromDigest: original.digest,
              toDigest: request.digest,
              ttlSeconds: request.ttlSeconds,
              narrowed: { fromTtlSeconds: original.ttlSeconds, by: approver.key },
            },
            approval,
            now,
            completes,
          )
        : await this.store.addApproval(original.id, approval, now, completes);
    }
    if (!result.ok) {
      throw this.approvalFailure(result.reason, request, result.state);
    }
    const current = result.approvals.filter((a) => a.digest === request.digest);
    const approved = result.state === 'approved';
    // The request as the script left it (no read back): the approvals it returned and, when this approval
    // completed the quorum, the state, claim window and decision time it wrote. Long-polls of this
    // process answer with it now (the store already published the change: readers elsewhere see it too).
    const after: AccessRequest =
      approved && completes
        ? { ...request, state: 'approved', expiresAt: completes.expiresAt, decidedAt: completes.decidedAt }
        : request;
    const view = toRequestView(
      after,
      [...result.approvals].sort((a, b) => a.at - b.at),
      this.publicUrl,
    );
    this.updates.publish(view);
    // Appended together (one commit of the audit chain), in this order.
    const appended = [
      this.audit.append({
        ...this.eventBase(cmd, request),
        action: 'request.approval_recorded',
        details: {
          person: approver.key,
          progress: quorum.progress,
          comment: cmd.comment,
          digest: request.digest,
          ...(narrowing ? { narrowedFromTtlSeconds: original.ttlSeconds, ttlSeconds: request.ttlSeconds } : {}),
        },
      }),
    ];
    if (approved) {
      appended.push(
        this.audit.append({
          ...this.eventBase(cmd, request),
          action: 'request.approved',
          decision: 'approved',
          details: {
            approvers: current.map((a) => a.approver),
            digest: request.digest,
            waitMs: now - request.createdAt,
          },
        }),
      );
    }
    await Promise.all(appended);
    this.notify.update(request, {
      kind: 'approved',
      by: approver.key,
      final: approved,
      progress: quorum.progress,
      approvers: current.map((a) => a.approver),
    });
    return view;
  }

  /** The request with a shorter TTL and its new digest; only shortening within the role's minimum is allowed. */
  private narrowed(request: AccessRequest, ttlSeconds: number, by: string): AccessRequest {
    if (ttlSeconds > request.ttlSeconds) {
      throw new ApprovalError(
        ApprovalErrorCode.InvalidNarrowing,
        `an approver may only shorten the TTL (requested ${request.ttlSeconds} s, got ${ttlSeconds} s)`,
      );
    }
    const role = this.policy.current.document.roles.find((r) => r.id === request.role);
    const minTtl = role?.minTtl ?? 1;
    if (ttlSeconds < minTtl) {
      throw new ApprovalError(
        ApprovalErrorCode.InvalidNarrowing,
        `ttlSeconds ${ttlSeconds} is below the role's minimum of ${minTtl} s`,
      );
    }
    const narrowed = { ...request, ttlSeconds, narrowed: { fromTtlSeconds: request.ttlSeconds, by } };
    return { ...narrowed, digest: requestDigest(narrowed) };
  }

  private async deny(cmd: DecideCommand, request: AccessRequest, approver: ResolvedIdentity): Promise<RequestView> {
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
        by: approver.key,
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
      by: approver.key,
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

  private approvalFailure(reason: string, request: AccessRequest, state?: string): ApprovalError | CoreError {
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
      case 'changed':
        return new CoreError(CoreErrorCode.Unavailable, `request ${request.id} is busy; try again`);
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
function notPending(request: AccessRequest): ApprovalError {
  return new ApprovalError(ApprovalErrorCode.NotPending, `request ${request.id} is ${request.state}, not pending`, {
    state: request.state,
  });
}
