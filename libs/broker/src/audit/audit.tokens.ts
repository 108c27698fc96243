export const AUDIT_SINK_STATE = Symbol('AuditSinkState');
/** The audit retention (seconds): verification refuses an anchor that dropped younger events. */
export const AUDIT_RETENTION_SECONDS = Symbol('AuditRetentionSeconds');
