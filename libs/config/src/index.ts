export * from './config.errors';
export * from './leash.config';
