export * from './approval-rules';
export * from './policy.errors';
export * from './people-directory';
export * from './policy.evaluator';
export * from './policy.loader';
export * from './policy.schema';
export * from './risk.assessor';
