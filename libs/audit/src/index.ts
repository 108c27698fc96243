export * from './audit-event';
export * from './redis-stream-audit.adapter';
export * from './audit.errors';
