import type { AuditEvent } from './audit-event';
import { matchesQuery } from './audit-query';

const base = { seq: 1, time: '2026-11-30T10:00:00.000Z', prevHash: '0', hash: '1' } as const;

/** An event of one lease (expiry job, early revocation). */
const single: AuditEvent = {
  ...base,
  actor: { id: 'system', channel: 'system' },
  action: 'lease.revoked',
  leaseId: 'lease-one',
  requestId: 'req-one',
  sessionId: 'sess-one',
  environment: 'staging',
  details: { reason: 'expired' },
};

/** A break glass event naming a batch of leases. */
const batch: AuditEvent = {
  ...base,
  seq: 2,
  actor: { id: 'admin', channel: 'api' },
  action: 'lease.revoked',
  leases: [
    {
      leaseId: 'lease-a',
      requestId: 'req-a',
      sessionId: 'sess-a',
      principal: 'agent-a',
      role: 'demo-prod-write',
      environment: 'production',
      provider: 'jwt',
    },
    {
      leaseId: 'lease-b',
      requestId: 'req-b',
      principal: 'agent-b',
      role: 'demo-staging-read',
      environment: 'staging',
      provider: 'jwt',
    },
  ],
  details: { reason: 'break_glass', breakGlass: 'glass-x' },
};

describe('matchesQuery: events about many leases', () => {
  it('finds a batch event by any lease, request, session or environment it names', () => {
    for (const q of [
      { lease: 'lease-b' },
      { request: 'req-a' },
      { session: 'sess-a' },
      { environment: 'staging' },
      { environment: 'production', action: 'lease.revoked' },
    ]) {
      expect(matchesQuery(batch, { limit: 10, ...q })).toBe(true);
    }
  });

  it('does not find it by what none of its leases has, nor mixes filters across its leases', () => {
    for (const q of [
      { lease: 'lease-one' },
      { request: 'req-b', action: 'lease.revoke_failed' },
      { session: 'sess-b' },
      { environment: 'dev' },
      { actor: 'system' },
      // Every filter holds for one of its leases, never some for one and some for another.
      { lease: 'lease-a', environment: 'staging' },
      { session: 'sess-a', request: 'req-b' },
    ]) {
      expect(matchesQuery(batch, { limit: 10, ...q })).toBe(false);
    }
  });

  it('matches an event of one lease on its own fields, as before', () => {
    expect(matchesQuery(single, { limit: 10, lease: 'lease-one', session: 'sess-one', request: 'req-one' })).toBe(true);
    expect(matchesQuery(single, { limit: 10, lease: 'lease-a' })).toBe(false);
    expect(matchesQuery(single, { limit: 10, environment: 'production' })).toBe(false);
  });
});
