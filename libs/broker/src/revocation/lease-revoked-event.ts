import type { NewAuditEvent } from '@leash/audit';
import type { Lease } from '@leash/core';

/** An audit event about one lease: who acted, what happened, and the lease's request, session, role and provider. */
export function leaseEvent(
  lease: Lease,
  actor: NewAuditEvent['actor'],
  action: NewAuditEvent['action'],
  details: Record<string, unknown>,
): NewAuditEvent {
  return {
    actor,
    action,
    requestId: lease.requestId,
    leaseId: lease.id,
    sessionId: lease.sessionId,
    role: lease.role,
    environment: lease.environment,
    provider: lease.provider,
    details,
  };
}

/** The `lease.revoked` audit event of a lease, whoever revoked it (expiry job, early revocation, break glass). */
export function leaseRevokedEvent(
  lease: Lease,
  actor: NewAuditEvent['actor'],
  details: Record<string, unknown>,
): NewAuditEvent {
  return { ...leaseEvent(lease, actor, 'lease.revoked', details), providerRef: lease.providerRef };
}
