import { existsSync, readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeSdk } from './kube-sdk.adapter';
import { ProviderError, ProviderErrorCode } from '../provider.errors';

/** Where the broker finds its clusters, following Kubernetes conventions (read by @leash/config). */
export interface KubernetesAccess {
  /** KUBECONFIG (path list) or ~/.kube/config; missing files are skipped, as kubectl does. */
  kubeconfigPaths: string[];
  /** Present when running in a pod (KUBERNETES_SERVICE_HOST/PORT set). */
  inCluster?: { host: string; port: string; tokenFile: string; caFile: string };
}

export interface ResolvedCluster {
  config: KubeConfig;
  /** The context name, or 'in-cluster'. */
  name: string;
  server: string;
  /** Base64 PEM of the cluster CA, when the kubeconfig names one. */
  certificateAuthorityData?: string;
}

/**
 * Builds a client configuration for one role's `cluster`. The kubeconfig is read on every call, so
 * contexts added later need no restart, and no request's credentials are kept between calls.
 */
export class KubeClusterResolver {
  constructor(private readonly access: KubernetesAccess) {}

  /** Throws NotConfigured when there is neither a kubeconfig nor in-cluster configuration. */
  assertAnyCluster(): void {
    if (!this.access.inCluster && !this.access.kubeconfigPaths.some((p) => existsSync(p))) {
      throw notConfigured('no kubeconfig found (KUBECONFIG) and not running in a cluster');
    }
  }

  resolve(context: string | undefined): ResolvedCluster {
    const config = new (kubeSdk().KubeConfig)();
    if (context === undefined) {
      const ic = this.access.inCluster;
      if (!ic) {
        throw notConfigured('in-cluster configuration is not available (KUBERNETES_SERVICE_HOST is not set)');
      }
      const host = ic.host.includes(':') ? `[${ic.host}]` : ic.host;
      config.loadFromClusterAndUser(
        { name: 'in-cluster', server: `https://${host}:${ic.port}`, caFile: ic.caFile, skipTLSVerify: false },
        { name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: ic.tokenFile } } },
      );
      return this.describe(config, 'in-cluster');
    }
    const files = this.access.kubeconfigPaths.filter((p) => existsSync(p));
    if (files.length === 0) {
      throw notConfigured(`no kubeconfig found (KUBECONFIG), so cluster context "${context}" is unavailable`);
    }
    try {
      config.loadFromFile(files[0]);
      for (const file of files.slice(1)) {
        const more = new (kubeSdk().KubeConfig)();
        more.loadFromFile(file);
        // kubectl's merge rule: the first file that names a cluster, user or context wins.
        const has = (list: { name: string }[], name: string): boolean => list.some((x) => x.name === name);
        more.clusters.filter((c) => !has(config.clusters, c.name)).forEach((c) => config.addCluster(c));
        more.users.filter((u) => !has(config.users, u.name)).forEach((u) => config.addUser(u));
        more.contexts.filter((c) => !has(config.contexts, c.name)).forEach((c) => config.addContext(c));
      }
    } catch (cause) {
      throw notConfigured(`the kubeconfig could not be read: ${(cause as Error).message.split('\n')[0]}`, cause);
    }
    if (!config.getContextObject(context)) {
      throw notConfigured(`kubeconfig context "${context}" not found`);
    }
    config.setCurrentContext(context);
    return this.describe(config, context);
  }

  private describe(config: KubeConfig, name: string): ResolvedCluster {
    const cluster = config.getCurrentCluster();
    if (!cluster) {
      throw notConfigured(`kubeconfig context "${name}" names no cluster`);
    }
    let ca = cluster.caData;
    if (!ca && cluster.caFile) {
      try {
        ca = readFileSync(cluster.caFile).toString('base64');
      } catch (cause) {
        throw notConfigured(`the CA file of cluster context "${name}" is unreadable`, cause);
      }
    }
    return { config, name, server: cluster.server, ...(ca ? { certificateAuthorityData: ca } : {}) };
  }
}

function notConfigured(message: string, cause?: unknown): ProviderError {
  return new ProviderError(ProviderErrorCode.NotConfigured, 'kubernetes', 'ClusterNotConfigured', message, { cause });
}
