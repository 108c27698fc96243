export * from './audit-event';
export * from './redis-stream-audit.adapter';
