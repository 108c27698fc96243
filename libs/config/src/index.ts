export * from './config.errors';
export * from './leash.config';
export * from './redis.config';
