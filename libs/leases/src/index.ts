export * from './lease-store.port';
export * from './lease.errors';
export * from './redis-lease-store.adapter';
export * from './idempotency.store';
export * from './auto-approval-budget.store';
export * from './session-event.store';
export * from './break-glass.store';
export * from './lease-census.store';
