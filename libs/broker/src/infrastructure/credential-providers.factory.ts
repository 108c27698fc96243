import type { Redis } from 'ioredis';
import type { SharedConfig } from '@leash/config';
import { JwtKeySet, JwtProvider, RedisJwtDenylist, type CredentialProvider } from '@leash/providers';

export interface BuiltProviders {
  all: CredentialProvider[];
  jwt?: JwtProvider;
}

/**
 * Builds every credential provider this deployment enables. Each provider kind adds itself here;
 * a kind that is not built makes policies naming it fail to load (or claims fail with 503).
 */
export async function createCredentialProviders(config: SharedConfig, redis: Redis): Promise<BuiltProviders> {
  const all: CredentialProvider[] = [];
  let jwt: JwtProvider | undefined;
  if (config.jwtKeysPath) {
    jwt = new JwtProvider(
      await JwtKeySet.fromFile(config.jwtKeysPath),
      new RedisJwtDenylist(redis, config.redis.prefix),
      config.publicUrl,
    );
    all.push(jwt);
  }
  return { all, jwt };
}
