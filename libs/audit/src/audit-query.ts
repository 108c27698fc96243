import type { AuditEvent, AuditQuery } from './audit-event';

/** Whether an event passes the filters of an audit query (time bounds are inclusive, ISO 8601). */
export function matchesQuery(e: AuditEvent, q: AuditQuery): boolean {
  return (
    (!q.from || e.time >= q.from) &&
    (!q.to || e.time <= q.to) &&
    (!q.actor || e.actor.id === q.actor) &&
    (!q.session || e.sessionId === q.session) &&
    (!q.request || e.requestId === q.request) &&
    (!q.lease || e.leaseId === q.lease) &&
    (!q.environment || e.environment === q.environment) &&
    (!q.action || e.action === q.action)
  );
}
