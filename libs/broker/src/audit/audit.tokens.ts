export const AUDIT_SINK_STATE = Symbol('AuditSinkState');
