import type { AccessRequest, Approval } from '@leash/core';
import { evaluateQuorum } from '@leash/approvals';
import type { ApprovalReceipt } from '@leash/providers';

/**
 * The receipt of the approval that authorised a request: its digest, the persons (policy member ids, in the order
 * they approved) whose approvals of that digest formed the quorum (not every approval recorded: one that filled no requirement, or one
 * of an earlier digest before a narrowing, did not authorise it), and the policy version it was decided under.
 */
export function approvalReceiptOf(request: AccessRequest, approvals: Approval[]): ApprovalReceipt {
  const base = { digest: request.digest, policyVersion: request.policyVersion };
  if (request.approval.kind === 'auto') {
    return { ...base, approvers: [], auto: true };
  }
  // In the order they approved (the earlier approver fills a requirement first), like the audit trail.
  const current = approvals
    .filter((a) => a.digest === request.digest)
    .sort((a, b) => a.at - b.at || a.approver.localeCompare(b.approver));
  const counted = new Set(evaluateQuorum(request.approval.requirements, current).assignment.flat());
  const approvers = current.map((a) => a.approver).filter((who, i, all) => counted.has(who) && all.indexOf(who) === i);
  return { ...base, approvers, auto: false };
}
