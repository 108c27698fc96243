import type { AccessRequest, Approval } from '@leash/core';
import { approvalReceiptOf as sut } from './approval-receipt';

const DIGEST = 'a'.repeat(64);

function request(approval: AccessRequest['approval'], digest = DIGEST): AccessRequest {
  return {
    id: 'req-1',
    state: 'approved',
    role: 'demo-prod-write',
    environment: 'production',
    ttlSeconds: 60,
    reason: 'r',
    principal: 'agent-1',
    issuer: 'https://dev',
    context: {},
    decision: approval.kind === 'auto' ? 'auto_approved' : 'needs_approval',
    approval,
    provider: 'jwt',
    risk: { level: 'critical', reasons: [] },
    digest,
    policyVersion: 'demo-1',
    createdAt: 0,
    expiresAt: 1,
  };
}

let clock = 0;
const approval = (approver: string, groups: string[], digest = DIGEST): Approval => ({
  approver,
  groups,
  digest,
  channel: 'web',
  at: (clock += 1000),
});

const quorum = (requirements: { groups: string[]; quorum: number }[]): AccessRequest['approval'] => ({
  kind: 'quorum',
  requirements,
  timeoutSeconds: 900,
  claimWindowSeconds: 600,
});

describe('approvalReceiptOf', () => {
  it('marks an auto-approved request explicitly, with no approver', () => {
    expect(sut(request({ kind: 'auto', claimWindowSeconds: 600 }), [])).toEqual({
      digest: DIGEST,
      approvers: [],
      auto: true,
      policyVersion: 'demo-1',
    });
  });

  it('names the persons whose approvals formed the quorum, not every approval recorded', () => {
    const rule = quorum([
      { groups: ['sre'], quorum: 1 },
      { groups: ['security'], quorum: 1 },
    ]);
    // riley and rory are both sre: only one of them filled the sre requirement; sam filled security.
    const receipt = sut(request(rule), [
      approval('sam', ['security']),
      approval('riley', ['sre']),
      approval('rory', ['sre']),
    ]);
    expect(receipt).toMatchObject({ auto: false, approvers: ['sam', 'riley'] });
  });

  it('leaves out approvals of an earlier digest (before an approver narrowed the TTL)', () => {
    const receipt = sut(request(quorum([{ groups: ['prod-approvers'], quorum: 2 }]), 'b'.repeat(64)), [
      approval('alice', ['prod-approvers']),
      approval('dave', ['prod-approvers'], 'b'.repeat(64)),
      approval('carol', ['prod-approvers'], 'b'.repeat(64)),
    ]);
    expect(receipt).toEqual({
      digest: 'b'.repeat(64),
      approvers: ['dave', 'carol'],
      auto: false,
      policyVersion: 'demo-1',
    });
  });
});
