export * from './credential-provider.port';
export * from './jwt/jwt-denylist.port';
export * from './jwt/jwt-key-set';
export * from './jwt/jwt.provider';
export * from './jwt/redis-jwt-denylist.adapter';
export * from './provider.errors';
export * from './provider.registry';
