import type { Cluster, Redis } from 'ioredis';
import { SystemClock, type Clock } from '@leash/core';
import type { SharedConfig } from '@leash/config';
import {
  AwsSdkApi,
  AwsStsProvider,
  GcpIamCredentialsApi,
  GcpIamProvider,
  JwtKeySet,
  JwtProvider,
  KubeClusterResolver,
  KubernetesProvider,
  RedisJwtDenylist,
  RedisProviderLock,
  type CredentialProvider,
} from '@leash/providers';

export interface BuiltProviders {
  all: CredentialProvider[];
  jwt?: JwtProvider;
}

/**
 * Builds every credential provider this deployment enables. Each provider kind adds itself here;
 * a kind that is not built makes policies naming it fail to load (or claims fail with 503).
 * The cloud providers are always built: their SDK clients resolve the broker's identity lazily,
 * so without cloud configuration only their claims fail (503 provider not configured).
 */
export async function createCredentialProviders(
  config: SharedConfig,
  redis: Redis | Cluster,
  clock: Clock = new SystemClock(),
): Promise<BuiltProviders> {
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
  all.push(
    new AwsStsProvider(
      new AwsSdkApi({ iamRegion: config.aws.iamRegion, maxAttempts: config.aws.maxAttempts }),
      new RedisProviderLock(redis, config.redis.prefix),
      clock,
    ),
  );
  all.push(new GcpIamProvider(new GcpIamCredentialsApi(config.gcp.iamCredentialsEndpoint), clock));
  // Always built, so a policy naming kubernetes roles loads even where no cluster is reachable yet:
  // clusters are resolved per claim from KUBECONFIG or in-cluster config, and a missing context
  // answers 503 (provider not configured) for that role only.
  all.push(new KubernetesProvider(new KubeClusterResolver(config.kubernetes)));
  return { all, jwt };
}
