import type * as K8s from '@kubernetes/client-node';
import { lazySdk } from '../lazy-sdk';

/**
 * The Kubernetes client library, loaded on first use: loading it was a third of the API's start-up
 * (bench/RESULTS.md), and only claims and revocations of kubernetes leases need it.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const kubeSdk = lazySdk('kubernetes', () => require('@kubernetes/client-node') as typeof K8s);
