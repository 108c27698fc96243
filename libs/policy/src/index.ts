export * from './approval-rules';
export * from './policy.errors';
export * from './policy.evaluator';
export * from './policy.loader';
export * from './policy.schema';
export * from './risk.assessor';
