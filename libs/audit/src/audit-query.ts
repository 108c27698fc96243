import type { AuditEvent, AuditLeaseRef, AuditQuery } from './audit-event';

type LeaseFields = Pick<AuditLeaseRef, 'sessionId' | 'requestId' | 'leaseId' | 'environment'>;

/** Whether one lease's fields (the event's own, or one lease it names) pass the lease filters of a query. */
function leasePasses(l: Partial<LeaseFields>, q: AuditQuery): boolean {
  return (
    (!q.session || l.sessionId === q.session) &&
    (!q.request || l.requestId === q.request) &&
    (!q.lease || l.leaseId === q.lease) &&
    (!q.environment || l.environment === q.environment)
  );
}

/**
 * Whether an event passes the filters of an audit query (time bounds are inclusive, ISO 8601). An event about
 * many leases (`leases`: break glass) also passes the lease, request, session and environment filters when one
 * of the leases it names passes them all.
 */
export function matchesQuery(e: AuditEvent, q: AuditQuery): boolean {
  return (
    (!q.from || e.time >= q.from) &&
    (!q.to || e.time <= q.to) &&
    (!q.actor || e.actor.id === q.actor) &&
    (!q.action || e.action === q.action) &&
    (leasePasses(e, q) || (e.leases?.some((l) => leasePasses(l, q)) ?? false))
  );
}
