import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { kubeSdk } from './kube-sdk.adapter';
import {
  receiptDigestPrefix,
  type ClaimPlan,
  type CredentialProvider,
  type IssueCommand,
  type IssuedCredential,
  type LeaseIdentity,
  type RevokeCommand,
} from '../credential-provider.port';
import { ProviderError, ProviderErrorCode } from '../provider.errors';
import type { KubeClusterResolver, ResolvedCluster } from './kube-cluster.adapter';
import { parseKubernetesSettings, validateKubernetesRole, type KubernetesSettings } from './kubernetes.settings';

export const LEASE_LABEL = 'leash.dev/lease';
const SESSION_LABEL = 'leash.dev/session';
const ENVIRONMENT_LABEL = 'leash.dev/environment';

/** The non-secret data `revoke` needs; names derive from the lease id, so orphans can be revoked too. */
interface KubeHandle {
  cluster?: string;
  namespace: string;
  name: string;
  inlineRole: boolean;
}

/**
 * Per lease: a ServiceAccount `leash-<lease id>`, a RoleBinding (and a Role for inline rules), and a
 * TokenRequest bound to the lease's TTL. Revocation deletes them, which kills the token at once.
 */
export class KubernetesProvider implements CredentialProvider {
  readonly kind = 'kubernetes' as const;

  constructor(private readonly clusters: KubeClusterResolver) {}

  validateSettings(settings: Record<string, unknown>, ttl: { minTtl?: number; maxTtl: number }): string[] {
    return validateKubernetesRole(settings, ttl);
  }

  describeTarget(roleSettings: Record<string, unknown>): Record<string, string> | undefined {
    const { value: settings } = parseKubernetesSettings(roleSettings);
    if (!settings) {
      return undefined;
    }
    try {
      const cluster = this.clusters.resolve(settings.cluster);
      return {
        server: cluster.server,
        namespace: settings.namespace,
        ...(cluster.certificateAuthorityData ? { certificateAuthorityData: cluster.certificateAuthorityData } : {}),
      };
    } catch {
      return undefined;
    }
  }

  /** The ServiceAccount (and its RoleBinding, Role) the claim will create; deleting them kills the token. */
  plan(cmd: IssueCommand): ClaimPlan {
    const { handle } = this.handleFor(cmd);
    return {
      identity: {
        serviceAccount: `${handle.namespace}/${handle.name}`,
        ...(handle.cluster ? { cluster: handle.cluster } : {}),
      },
      handle: { ...handle },
    };
  }

  async issue(cmd: IssueCommand): Promise<IssuedCredential> {
    const { settings, handle } = this.handleFor(cmd);
    const cluster = this.clusters.resolve(settings.cluster);
    try {
      return await this.create(cluster, settings, handle, cmd);
    } catch (err) {
      // No half-made identities: whatever was created goes. If even that fails, the sweep finds it.
      await this.deleteAll(cluster, handle).catch(() => undefined);
      throw classify(err, 'issue');
    }
  }

  private handleFor(cmd: IssueCommand): { settings: KubernetesSettings; handle: KubeHandle } {
    const { value: settings } = parseKubernetesSettings(cmd.role.settings);
    if (!settings) {
      throw new ProviderError(
        ProviderErrorCode.Permanent,
        'kubernetes',
        'InvalidSettings',
        'invalid kubernetes role settings',
      );
    }
    const handle: KubeHandle = {
      ...(settings.cluster ? { cluster: settings.cluster } : {}),
      namespace: settings.namespace,
      name: `leash-${cmd.leaseId}`,
      inlineRole: settings.binding.kind === 'inline',
    };
    return { settings, handle };
  }

  async revoke(cmd: RevokeCommand): Promise<void> {
    const handle = parseHandle(cmd.handle);
    const cluster = this.clusters.resolve(handle.cluster);
    try {
      await this.deleteAll(cluster, handle);
      // Receipt: the ServiceAccount is gone, so the API server rejects its tokens (TokenReview → false).
      const core = cluster.config.makeApiClient(kubeSdk().CoreV1Api);
      const still = await unlessNotFound(
        core.readNamespacedServiceAccount({ name: handle.name, namespace: handle.namespace }),
      );
      if (still) {
        throw new ProviderError(
          ProviderErrorCode.Retryable,
          'kubernetes',
          'StillPresent',
          `ServiceAccount ${handle.namespace}/${handle.name} still exists after delete`,
        );
      }
    } catch (err) {
      throw err instanceof ProviderError ? err : classify(err, 'revoke');
    }
  }

  async checkHealth(): Promise<void> {
    // Clusters are resolved per role (checkRole); here only whether the broker can reach any cluster at all.
    this.clusters.assertAnyCluster();
    return Promise.resolve();
  }

  async checkRole(raw: Record<string, unknown>): Promise<void> {
    const { value } = parseKubernetesSettings(raw);
    if (value) {
      this.clusters.resolve(value.cluster);
    }
    return Promise.resolve();
  }

  async listLeaseIdentities(
    roleSettings: Record<string, unknown>[],
  ): Promise<{ identities: LeaseIdentity[]; problems: string[] }> {
    const scopes = new Map<string, { cluster?: string; namespace: string }>();
    for (const raw of roleSettings) {
      const { value } = parseKubernetesSettings(raw);
      if (value) {
        scopes.set(`${value.cluster ?? ''}\u0000${value.namespace}`, {
          cluster: value.cluster,
          namespace: value.namespace,
        });
      }
    }
    const identities: LeaseIdentity[] = [];
    const problems: string[] = [];
    for (const scope of scopes.values()) {
      const where = `${scope.cluster ?? 'in-cluster'}/${scope.namespace}`;
      try {
        const core = this.clusters.resolve(scope.cluster).config.makeApiClient(kubeSdk().CoreV1Api);
        const list = await core.listNamespacedServiceAccount({
          namespace: scope.namespace,
          labelSelector: LEASE_LABEL,
        });
        for (const sa of list.items) {
          const leaseId = sa.metadata?.labels?.[LEASE_LABEL];
          const name = sa.metadata?.name;
          if (!leaseId || name !== `leash-${leaseId}`) {
            continue;
          }
          identities.push({
            leaseId,
            createdAt: sa.metadata?.creationTimestamp ? new Date(sa.metadata.creationTimestamp).getTime() : 0,
            handle: {
              ...(scope.cluster ? { cluster: scope.cluster } : {}),
              namespace: scope.namespace,
              name,
              inlineRole: true,
            },
            where: `${where}/${name}`,
          });
        }
      } catch (err) {
        const e = err instanceof ProviderError ? err : classify(err, 'list');
        problems.push(`${where}: ${e.message}`);
      }
    }
    return { identities, problems };
  }

  private async create(
    cluster: ResolvedCluster,
    settings: KubernetesSettings,
    handle: KubeHandle,
    cmd: IssueCommand,
  ): Promise<IssuedCredential> {
    const core = cluster.config.makeApiClient(kubeSdk().CoreV1Api);
    const rbac = cluster.config.makeApiClient(kubeSdk().RbacAuthorizationV1Api);
    const { namespace, name } = handle;
    const sa = await core.createNamespacedServiceAccount({
      namespace,
      body: {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: metadata(name, cmd),
        automountServiceAccountToken: false,
      },
    });
    // Owned by the ServiceAccount, so Kubernetes' garbage collector removes them with it.
    const owner: V1OwnerReference = { apiVersion: 'v1', kind: 'ServiceAccount', name, uid: sa.metadata?.uid ?? '' };
    let roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name };
    if (settings.binding.kind === 'inline') {
      await rbac.createNamespacedRole({
        namespace,
        body: {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { ...metadata(name, cmd), ownerReferences: [owner] },
          rules: settings.binding.rules,
        },
      });
    } else {
      roleRef = { ...roleRef, kind: settings.binding.kind, name: settings.binding.name };
    }
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { ...metadata(name, cmd), ownerReferences: [owner] },
        roleRef,
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
    });
    const tr = await core.createNamespacedServiceAccountToken({
      name,
      namespace,
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { audiences: settings.audiences, expirationSeconds: cmd.ttlSeconds },
      },
    });
    const token = tr.status?.token;
    if (!token) {
      throw new ProviderError(
        ProviderErrorCode.Retryable,
        'kubernetes',
        'NoToken',
        'the TokenRequest returned no token',
      );
    }
    // The API server may choose another lifetime; the lease (and the ServiceAccount) never outlive the request.
    const tokenExpiry = tr.status?.expirationTimestamp
      ? new Date(tr.status.expirationTimestamp).getTime()
      : cmd.expiresAt;
    const expiresAt = Math.min(tokenExpiry, cmd.expiresAt);
    return {
      credential: {
        token,
        expirationTimestamp: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        server: cluster.server,
        namespace,
        ...(cluster.certificateAuthorityData ? { certificateAuthorityData: cluster.certificateAuthorityData } : {}),
      },
      secret: token,
      revocationHandle: { ...handle },
      expiresAt,
      providerRef: {
        cluster: cluster.name,
        serviceAccount: `${namespace}/${name}`,
        uid: sa.metadata?.uid ?? '',
      },
    };
  }

  /** Deletes RoleBinding, Role and ServiceAccount; 404 counts as done. */
  private async deleteAll(cluster: ResolvedCluster, handle: KubeHandle): Promise<void> {
    const core = cluster.config.makeApiClient(kubeSdk().CoreV1Api);
    const rbac = cluster.config.makeApiClient(kubeSdk().RbacAuthorizationV1Api);
    const ref = { name: handle.name, namespace: handle.namespace };
    await unlessNotFound(rbac.deleteNamespacedRoleBinding(ref));
    if (handle.inlineRole) {
      await unlessNotFound(rbac.deleteNamespacedRole(ref));
    }
    await unlessNotFound(core.deleteNamespacedServiceAccount(ref));
  }
}

function metadata(name: string, cmd: IssueCommand): V1ObjectMeta {
  const labels: Record<string, string> = { [LEASE_LABEL]: cmd.leaseId, 'app.kubernetes.io/managed-by': 'leash' };
  const annotations: Record<string, string> = {
    'leash.dev/principal': cmd.principal,
    'leash.dev/request': cmd.requestId,
    'leash.dev/role': cmd.role.id,
    'leash.dev/environment': cmd.environment,
    'leash.dev/expires-at': new Date(cmd.expiresAt).toISOString(),
    // The approval receipt, as in AWS session tags: with leash.dev/request, the approved request's digest prefix.
    'leash.dev/approval': receiptDigestPrefix(cmd.approval),
  };
  if (cmd.owner) {
    annotations['leash.dev/owner'] = cmd.owner;
  }
  // Labels allow 63 characters of [A-Za-z0-9._-]; the annotation always carries the full value.
  if (isLabelValue(cmd.environment)) {
    labels[ENVIRONMENT_LABEL] = cmd.environment;
  }
  if (cmd.sessionId) {
    annotations[SESSION_LABEL] = cmd.sessionId;
    if (isLabelValue(cmd.sessionId)) {
      labels[SESSION_LABEL] = cmd.sessionId;
    }
  }
  return { name, labels, annotations };
}

function isLabelValue(v: string): boolean {
  return v.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(v);
}

function parseHandle(raw: Record<string, unknown>): KubeHandle {
  const { cluster, namespace, name, inlineRole } = raw;
  if (typeof namespace !== 'string' || typeof name !== 'string' || !/^leash-/.test(name)) {
    throw new ProviderError(ProviderErrorCode.Permanent, 'kubernetes', 'InvalidHandle', 'malformed revocation handle');
  }
  return {
    ...(typeof cluster === 'string' ? { cluster } : {}),
    namespace,
    name,
    inlineRole: inlineRole === true,
  };
}

/** The call's result, or undefined when the object does not exist (404). */
async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof kubeSdk().ApiException && err.code === 404) {
      return undefined;
    }
    throw err;
  }
}

/** Kubernetes `Status` errors: 429 and 5xx are retryable, other refusals permanent; no body is echoed but its message. */
function classify(err: unknown, step: string): ProviderError {
  if (err instanceof ProviderError) {
    return err;
  }
  if (err instanceof kubeSdk().ApiException) {
    const status = statusOf(err.body);
    const code = err.code;
    const retryable = code === 429 || code >= 500;
    const reason = status.reason || `HTTP${code}`;
    const detail = status.message ? `: ${status.message.slice(0, 240)}` : '';
    return new ProviderError(
      retryable ? ProviderErrorCode.Retryable : ProviderErrorCode.Permanent,
      'kubernetes',
      reason,
      `kubernetes ${step} failed (HTTP ${code} ${reason})${detail}`,
      { cause: new Error(`HTTP ${code}`) },
    );
  }
  return new ProviderError(
    ProviderErrorCode.Retryable,
    'kubernetes',
    'Unreachable',
    `kubernetes ${step} failed: the API server is unreachable (${errorName(err)})`,
    { outcomeUnknown: true },
  );
}

function statusOf(body: unknown): { reason?: string; message?: string } {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return {};
    }
  }
  if (parsed && typeof parsed === 'object' && (parsed as { kind?: unknown }).kind === 'Status') {
    const { reason, message } = parsed as { reason?: unknown; message?: unknown };
    return {
      ...(typeof reason === 'string' ? { reason } : {}),
      ...(typeof message === 'string' ? { message } : {}),
    };
  }
  return {};
}

function errorName(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'error';
}
