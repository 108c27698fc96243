export * from './approval-notifier.port';
export * from './approval.errors';
export * from './approver-eligibility';
export * from './log-notifier.adapter';
export * from './mfa';
export * from './quorum';
