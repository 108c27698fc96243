import type { AccessRequest, ApprovalRule, Channel } from '@leash/core';
import { ApprovalError, ApprovalErrorCode } from './approval.errors';
import { mfaProblem, type MfaEvidence } from './mfa';

/**
 * An approver resolved to one person of the policy, whichever channel they act through (API token,
 * console login, Slack user id). Identifiers are normalised (no case, no surrounding space).
 */
export interface ApproverIdentity {
  /** One person, one key: quorum counts keys. */
  key: string;
  /** Every identifier the policy knows for the person, and the acting identity's own subject and email. */
  identifiers: readonly string[];
  /** Approver groups of the person. */
  groups: readonly string[];
  /** The identity matches several people of the policy: it must not approve. */
  ambiguous: boolean;
}

/** How the conflict checks compare identifiers: no case, no surrounding space. */
export function sameIdentifier(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** Groups that can approve requests under this rule. */
export function groupsOfRule(rule: ApprovalRule): string[] {
  return rule.kind === 'quorum' ? [...new Set(rule.requirements.flatMap((r) => r.groups))] : [];
}

/**
 * Why this person is conflicted on the request, or undefined: the requester (its subject or email)
 * and the owner are compared with every identifier the policy knows for the person.
 */
export function conflictOf(
  request: Pick<AccessRequest, 'principal' | 'owner' | 'principalEmail'>,
  approver: Pick<ApproverIdentity, 'identifiers'>,
): string | undefined {
  const has = (value: string | undefined): boolean =>
    value !== undefined && approver.identifiers.some((id) => sameIdentifier(id, value));
  if (has(request.principal) || has(request.principalEmail)) {
    return 'the requester cannot approve or deny its own request';
  }
  if (has(request.owner)) {
    return `the owner (${request.owner ?? ''}) launched this agent and cannot approve or deny its requests`;
  }
  return undefined;
}

/** Refuses approvers who are conflicted (the requester or its owner) or in none of the rule's groups. */
export function assertEligibleApprover(
  request: Pick<AccessRequest, 'principal' | 'owner' | 'principalEmail'>,
  rule: ApprovalRule,
  approver: ApproverIdentity,
): void {
  const conflict = conflictOf(request, approver);
  if (conflict !== undefined) {
    throw new ApprovalError(ApprovalErrorCode.SelfApproval, conflict);
  }
  const needed = groupsOfRule(rule);
  if (!needed.some((g) => approver.groups.includes(g))) {
    throw new ApprovalError(
      ApprovalErrorCode.NotApprover,
      `approvers must be members of ${needed.length > 0 ? needed.join(' or ') : 'an approver group'}`,
      { requiredGroups: needed },
    );
  }
  if (approver.ambiguous) {
    throw new ApprovalError(
      ApprovalErrorCode.NotApprover,
      `your identity matches several people of the policy (${approver.key}); ask the platform team to list each person once`,
      { requiredGroups: needed },
    );
  }
}

/**
 * Refuses an approval arriving on a channel the rule does not accept, or from an approver whose
 * login does not prove recent MFA when the rule requires it. Denials are not subject to this: any
 * eligible approver may stop a request from anywhere.
 */
export function assertApprovalChannelAndMfa(
  rule: ApprovalRule,
  evidence: MfaEvidence,
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
    const problem = mfaProblem(evidence, nowMs, rule.mfaMaxAgeSeconds ?? 900);
    if (problem !== undefined) {
      throw new ApprovalError(ApprovalErrorCode.MfaRequired, problem);
    }
  }
}
