export * from './jobs';
export * from './problem';
export * from './requests.schema';
export * from './tokens.schema';
