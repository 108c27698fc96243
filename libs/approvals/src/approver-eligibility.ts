import type { AccessRequest, ApprovalRule, Channel, Principal } from '@leash/core';
import { ApprovalError, ApprovalErrorCode } from './approval.errors';
import { mfaProblem } from './mfa';

/**
 * Issuer of approvers identified through the policy's Slack user mapping. They carry no token issuer,
 * so sharing the requester's subject is enough to be conflicted.
 */
export const SLACK_ISSUER = 'slack';

/** Refuses approvers who are conflicted (the requester or its owner) or in none of the rule's groups. */
export function assertEligibleApprover(
  request: AccessRequest,
  rule: ApprovalRule,
  approver: Principal,
  approverGroups: string[],
): void {
  if (approver.id === request.principal && (approver.issuer === request.issuer || approver.issuer === SLACK_ISSUER)) {
    throw new ApprovalError(ApprovalErrorCode.SelfApproval, 'the requester cannot approve or deny its own request');
  }
  const ownerIds = [approver.id, approver.email].filter((v): v is string => v !== undefined);
  if (request.owner !== undefined && ownerIds.includes(request.owner)) {
    throw new ApprovalError(
      ApprovalErrorCode.SelfApproval,
      `the owner (${request.owner}) launched this agent and cannot approve or deny its requests`,
    );
  }
  const needed = rule.kind === 'quorum' ? [...new Set(rule.requirements.flatMap((r) => r.groups))] : [];
  if (!needed.some((g) => approverGroups.includes(g))) {
    throw new ApprovalError(
      ApprovalErrorCode.NotApprover,
      `approvers must be members of ${needed.length > 0 ? needed.join(' or ') : 'an approver group'}`,
      { requiredGroups: needed },
    );
  }
}

/**
 * Refuses an approval arriving on a channel the rule does not accept, or from an approver whose
 * token does not prove recent MFA when the rule requires it. Denials are not subject to this: any
 * eligible approver may stop a request from anywhere.
 */
export function assertApprovalChannelAndMfa(
  rule: ApprovalRule,
  approver: Principal,
  channel: Channel,
  nowMs: number,
): void {
  if (rule.kind !== 'quorum') {
    return;
  }
  if (rule.channels !== undefined && !rule.channels.includes(channel)) {
    throw new ApprovalError(
      ApprovalErrorCode.ChannelNotAllowed,
      `this request accepts approvals only via ${rule.channels.join(', ')} (not ${channel})`,
      { channels: rule.channels },
    );
  }
  if (rule.requireMfa) {
    const problem = mfaProblem(approver, nowMs, rule.mfaMaxAgeSeconds ?? 900);
    if (problem !== undefined) {
      throw new ApprovalError(ApprovalErrorCode.MfaRequired, problem);
    }
  }
}
