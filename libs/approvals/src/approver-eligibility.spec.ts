import type { AccessRequest, ApprovalRule, Principal } from '@leash/core';
import { ApprovalErrorCode } from './approval.errors';
import { assertEligibleApprover } from './approver-eligibility';

const rule: ApprovalRule = {
  kind: 'quorum',
  requirements: [{ groups: ['prod-approvers'], quorum: 1 }],
  timeoutSeconds: 60,
  claimWindowSeconds: 60,
};
const request = { principal: 'agent-1', issuer: 'https://idp', owner: 'bob@example.com' } as AccessRequest;
const who = (id: string, extra: Partial<Principal> = {}): Principal => ({
  id,
  issuer: 'https://idp',
  groups: [],
  ...extra,
});

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('assertEligibleApprover', () => {
  it('refuses the requester itself', () => {
    expect(codeOf(() => assertEligibleApprover(request, rule, who('agent-1'), ['prod-approvers']))).toBe(
      ApprovalErrorCode.SelfApproval,
    );
  });

  it('refuses the owner, matched by subject or email, even as a group member', () => {
    expect(codeOf(() => assertEligibleApprover(request, rule, who('bob@example.com'), ['prod-approvers']))).toBe(
      ApprovalErrorCode.SelfApproval,
    );
    expect(
      codeOf(() =>
        assertEligibleApprover(request, rule, who('u-17', { email: 'bob@example.com' }), ['prod-approvers']),
      ),
    ).toBe(ApprovalErrorCode.SelfApproval);
  });

  it('refuses non-members and accepts members', () => {
    expect(codeOf(() => assertEligibleApprover(request, rule, who('mallory'), ['developers']))).toBe(
      ApprovalErrorCode.NotApprover,
    );
    expect(codeOf(() => assertEligibleApprover(request, rule, who('alice'), ['prod-approvers']))).toBeUndefined();
  });

  it('treats the same subject from another issuer as a different person', () => {
    expect(
      codeOf(() =>
        assertEligibleApprover(request, rule, { id: 'agent-1', issuer: 'https://other', groups: [] }, [
          'prod-approvers',
        ]),
      ),
    ).toBeUndefined();
  });
});
