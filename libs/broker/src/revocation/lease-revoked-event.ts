import type { NewAuditEvent } from '@leash/audit';
import type { Lease } from '@leash/core';

/** The `lease.revoked` audit event of a lease, whoever revoked it (expiry job, early revocation, break glass). */
export function leaseRevokedEvent(
  lease: Lease,
  actor: NewAuditEvent['actor'],
  details: Record<string, unknown>,
): NewAuditEvent {
  return {
    actor,
    action: 'lease.revoked',
    requestId: lease.requestId,
    leaseId: lease.id,
    sessionId: lease.sessionId,
    role: lease.role,
    environment: lease.environment,
    provider: lease.provider,
    providerRef: lease.providerRef,
    details,
  };
}
