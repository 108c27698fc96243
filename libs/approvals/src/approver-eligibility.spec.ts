import type { AccessRequest, ApprovalRule } from '@leash/core';
import { ApprovalErrorCode } from './approval.errors';
import { assertApprovalChannelAndMfa, assertEligibleApprover, type ApproverIdentity } from './approver-eligibility';

const rule: ApprovalRule = {
  kind: 'quorum',
  requirements: [{ groups: ['prod-approvers'], quorum: 1 }],
  timeoutSeconds: 60,
  claimWindowSeconds: 60,
};
const request = { principal: 'agent-1', issuer: 'https://idp', owner: 'bob@example.com' } as AccessRequest;
const person = (identifiers: string[], groups = ['prod-approvers'], ambiguous = false): ApproverIdentity => ({
  key: identifiers[0],
  identifiers,
  groups,
  ambiguous,
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
  it('refuses the requester itself, by subject or email, with any spelling', () => {
    expect(codeOf(() => assertEligibleApprover(request, rule, person(['agent-1'])))).toBe(
      ApprovalErrorCode.SelfApproval,
    );
    expect(codeOf(() => assertEligibleApprover(request, rule, person([' Agent-1 '])))).toBe(
      ApprovalErrorCode.SelfApproval,
    );
    const withEmail = { ...request, principalEmail: 'Agent@Example.com' } as AccessRequest;
    expect(codeOf(() => assertEligibleApprover(withEmail, rule, person(['u-9', 'agent@example.com'])))).toBe(
      ApprovalErrorCode.SelfApproval,
    );
  });

  it('refuses the owner through any identifier of the person (e.g. acting from Slack)', () => {
    expect(codeOf(() => assertEligibleApprover(request, rule, person(['bob@example.com'])))).toBe(
      ApprovalErrorCode.SelfApproval,
    );
    // The person acts as Slack user U0BOB; the policy also lists their email, in another case.
    expect(codeOf(() => assertEligibleApprover(request, rule, person(['u0bob', 'bob', 'BOB@example.COM '])))).toBe(
      ApprovalErrorCode.SelfApproval,
    );
  });

  it('refuses members of unrelated groups and accepts members of the rule groups', () => {
    expect(codeOf(() => assertEligibleApprover(request, rule, person(['mallory'], ['developers'])))).toBe(
      ApprovalErrorCode.NotApprover,
    );
    expect(codeOf(() => assertEligibleApprover(request, rule, person(['alice'])))).toBeUndefined();
  });

  it('refuses an identity that matches several people of the policy', () => {
    expect(codeOf(() => assertEligibleApprover(request, rule, person(['alice', 'al'], undefined, true)))).toBe(
      ApprovalErrorCode.NotApprover,
    );
  });
});

describe('assertApprovalChannelAndMfa', () => {
  const mfaRule: ApprovalRule = { ...rule, requireMfa: true, mfaMaxAgeSeconds: 900, channels: ['web'] };
  const now = 1_800_000_000_000;
  const at = (offsetSeconds: number) => ({ amr: ['mfa'], authTime: now / 1000 + offsetSeconds });

  it('accepts a recent MFA sign-in, and one slightly in the future (clock skew)', () => {
    expect(codeOf(() => assertApprovalChannelAndMfa(mfaRule, at(-60), 'web', now))).toBeUndefined();
    expect(codeOf(() => assertApprovalChannelAndMfa(mfaRule, at(59), 'web', now))).toBeUndefined();
  });

  it('refuses auth_time in the future beyond the 60 s skew', () => {
    expect(codeOf(() => assertApprovalChannelAndMfa(mfaRule, at(61), 'web', now))).toBe(ApprovalErrorCode.MfaRequired);
    expect(codeOf(() => assertApprovalChannelAndMfa(mfaRule, at(86_400), 'web', now))).toBe(
      ApprovalErrorCode.MfaRequired,
    );
  });

  it('refuses channels the rule does not list', () => {
    expect(codeOf(() => assertApprovalChannelAndMfa(mfaRule, at(0), 'api', now))).toBe(
      ApprovalErrorCode.ChannelNotAllowed,
    );
    expect(codeOf(() => assertApprovalChannelAndMfa(mfaRule, {}, 'slack', now))).toBe(
      ApprovalErrorCode.ChannelNotAllowed,
    );
  });
});
