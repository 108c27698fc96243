import type * as K8s from '@kubernetes/client-node';

let loaded: typeof K8s | undefined;

/**
 * The Kubernetes client library, loaded on first use: loading it was a third of the API's start-up
 * (bench/RESULTS.md), and only claims and revocations of kubernetes leases need it.
 */
export function kubeSdk(): typeof K8s {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('@kubernetes/client-node') as typeof K8s;
  return loaded;
}
