export * from './jobs';
export * from './problem';
export * from './requests.schema';
export * from './tokens.schema';
export * from './policy-document.parser';
export * from './policy-document.schema';
export * from './policy.schema';
export * from './policy-json-schema';
