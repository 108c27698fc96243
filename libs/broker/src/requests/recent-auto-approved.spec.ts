import type { AccessRequest } from '@leash/core';
import { RecentAutoApproved } from './recent-auto-approved';

const NOW = 1_800_000_000_000;

function request(id: string, over: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id,
    state: 'approved',
    role: 'demo-staging-read',
    environment: 'staging',
    ttlSeconds: 3600,
    reason: 'nightly report',
    principal: 'agent-1',
    issuer: 'https://idp.example',
    context: {},
    decision: 'auto_approved',
    approval: { kind: 'auto', claimWindowSeconds: 600 },
    provider: 'jwt',
    risk: { level: 'low', reasons: [], findings: [] },
    digest: 'd'.repeat(64),
    scope: { audience: 'demo-api', scope: ['read'] },
    principalGroups: [],
    policyVersion: 'p1',
    createdAt: NOW,
    expiresAt: NOW + 600_000,
    ...over,
  };
}

describe('RecentAutoApproved', () => {
  it('hands an auto-approved request to one claim only: a second claim of it reads the store', () => {
    const sut = new RecentAutoApproved();
    sut.remember(request('req-a'));

    expect(sut.take('req-a', NOW + 10)).toMatchObject({ id: 'req-a', principal: 'agent-1' });
    expect(sut.take('req-a', NOW + 20)).toBeUndefined();
    expect(sut.size).toBe(0);
  });

  it('keeps nothing that a person still has to decide, nor a request that is not approved', () => {
    const sut = new RecentAutoApproved();
    const quorum = {
      kind: 'quorum' as const,
      requirements: [{ groups: ['approvers'], quorum: 1 }],
      timeoutSeconds: 600,
      claimWindowSeconds: 600,
    };
    sut.remember(request('req-pending', { state: 'pending', decision: 'needs_approval', approval: quorum }));
    // Approved by people: its approvals make its receipt, so its claim reads them from the store.
    sut.remember(request('req-manual', { decision: 'needs_approval', approval: quorum }));

    expect(sut.take('req-pending', NOW)).toBeUndefined();
    expect(sut.take('req-manual', NOW)).toBeUndefined();
    expect(sut.size).toBe(0);
  });

  it('hands nothing out once the claim window has passed, and drops such entries', () => {
    const sut = new RecentAutoApproved();
    sut.remember(request('req-old', { expiresAt: NOW + 1_000 }));
    sut.remember(request('req-new', { expiresAt: NOW + 600_000 }));

    expect(sut.take('req-old', NOW + 1_000)).toBeUndefined();
    expect(sut.take('req-new', NOW + 1_000)).toMatchObject({ id: 'req-new' });
    expect(sut.size).toBe(0);
  });

  it('keeps a copy: changing the object it was given later changes nothing handed to the claim', () => {
    const sut = new RecentAutoApproved();
    const original = request('req-a');
    sut.remember(original);
    (original.scope as { scope: string[] }).scope.push('write');
    original.principal = 'someone-else';

    expect(sut.take('req-a', NOW)).toMatchObject({
      principal: 'agent-1',
      scope: { audience: 'demo-api', scope: ['read'] },
    });
  });

  it('stays bounded however many requests are never claimed', () => {
    const sut = new RecentAutoApproved();
    for (let i = 0; i < 5000; i += 1) {
      sut.remember(request(`req-${i}`));
    }

    expect(sut.size).toBeLessThanOrEqual(1024);
    expect(sut.take('req-4999', NOW)).toMatchObject({ id: 'req-4999' });
    expect(sut.take('req-0', NOW)).toBeUndefined();
  });
});
