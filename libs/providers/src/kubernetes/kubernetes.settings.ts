import { z } from 'zod';

/** The Kubernetes API server refuses TokenRequests shorter than ten minutes. */
export const KUBERNETES_MIN_TTL_SECONDS = 600;
/** `cluster` value (or its absence) that means the broker's own in-cluster configuration. */
export const IN_CLUSTER = 'in-cluster';

const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lowercase letters, digits, -)');
const rbacName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[^/%]+$/, 'must be a valid RBAC object name');

const policyRule = z.strictObject({
  apiGroups: z.array(z.string()).min(1).default(['']),
  resources: z.array(z.string().min(1)).min(1),
  verbs: z.array(z.string().min(1)).min(1),
  resourceNames: z.array(z.string().min(1)).optional(),
});

const settingsSchema = z
  .strictObject({
    cluster: z.string().min(1).max(253).optional(),
    namespace: dnsLabel,
    clusterRole: rbacName.optional(),
    role: rbacName.optional(),
    rules: z.array(policyRule).min(1).max(50).optional(),
    audiences: z.array(z.string().min(1).max(512)).max(10).default([]),
  })
  .superRefine((s, ctx) => {
    const chosen = [s.clusterRole, s.role, s.rules].filter((x) => x !== undefined).length;
    if (chosen !== 1) {
      ctx.addIssue({ code: 'custom', message: 'set exactly one of clusterRole, role or rules' });
    }
  });

export type KubernetesRule = z.infer<typeof policyRule>;

export interface KubernetesSettings {
  /** A kubeconfig context name, or undefined for the in-cluster configuration. */
  cluster?: string;
  namespace: string;
  binding: { kind: 'ClusterRole' | 'Role'; name: string } | { kind: 'inline'; rules: KubernetesRule[] };
  audiences: string[];
}

/** Parses a role's kubernetes settings; `problems` name each bad field. */
export function parseKubernetesSettings(settings: Record<string, unknown>): {
  value?: KubernetesSettings;
  problems: string[];
} {
  const result = settingsSchema.safeParse(settings);
  if (!result.success) {
    return {
      problems: result.error.issues.map((i) => `settings${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`),
    };
  }
  const s = result.data;
  const binding: KubernetesSettings['binding'] =
    s.rules !== undefined
      ? { kind: 'inline', rules: s.rules }
      : s.clusterRole !== undefined
        ? { kind: 'ClusterRole', name: s.clusterRole }
        : { kind: 'Role', name: s.role as string };
  return {
    value: {
      cluster: s.cluster === IN_CLUSTER ? undefined : s.cluster,
      namespace: s.namespace,
      binding,
      audiences: s.audiences,
    },
    problems: [],
  };
}

/** Settings problems plus the TTL bounds the API server imposes. */
export function validateKubernetesRole(
  settings: Record<string, unknown>,
  ttl: { minTtl?: number; maxTtl: number },
): string[] {
  const problems = parseKubernetesSettings(settings).problems;
  if (ttl.minTtl === undefined || ttl.minTtl < KUBERNETES_MIN_TTL_SECONDS) {
    problems.push(
      `minTtl must be set to at least ${KUBERNETES_MIN_TTL_SECONDS}s (the API server refuses shorter TokenRequests)`,
    );
  }
  return problems;
}
