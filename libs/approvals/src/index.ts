export * from './approval-notifier.port';
export * from './approval.errors';
export * from './approver-eligibility';
export * from './mfa-requirement';
export * from './pending-request-index.port';
export * from './quorum';
export * from './web-console-notifier.adapter';
