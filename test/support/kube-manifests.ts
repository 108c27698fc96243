import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';

/** A rendered Kubernetes object, loosely typed: tests read the fields they assert on. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** `kubectl kustomize DIR`, parsed. */
export function kustomize(dir: string): KubeObject[] {
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

interface Validating {
  validate(): void;
}
type ModelClass = new (data: never) => Validating;

// The kinds Leash ships; anything else is a mistake until it is added here (and validated).
// Schemas: kubernetes-models 4.5.1 (Kubernetes v1.33.0), @kubernetes-models/prometheus-operator 4.4.4.
const MODELS: Record<string, ModelClass> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

/**
 * Problems of one object against the pinned API schemas: types, enums and required fields
 * (kubernetes-models), and fields the API does not know (the generated models of
 * @kubernetes/client-node, like `kubectl --validate=strict`; built-in kinds only).
 */
export function schemaProblems(obj: KubeObject): string[] {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const Model = MODELS[key];
  if (!Model) {
    return [`${key} is not a kind this test validates`];
  }
  const problems: string[] = [];
  try {
    new Model(obj as never).validate();
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (!obj.apiVersion.startsWith('monitoring.coreos.com/')) {
    const version = obj.apiVersion.split('/').pop() ?? '';
    problems.push(...unknownFields(obj, `${version[0].toUpperCase()}${version.slice(1)}${obj.kind}`, ''));
  }
  return problems.map((p) => `${obj.kind}/${obj.metadata.name}: ${p}`);
}

interface Attribute {
  baseName: string;
  type: string;
}
type ModelWithAttributes = { getAttributeTypeMap(): Attribute[] };

function unknownFields(value: unknown, type: string, path: string): string[] {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, array[1], `${path}[${i}]`)) : [];
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    return Object.entries(value as object).flatMap(([k, v]) => unknownFields(v, map[1], `${path}.${k}`));
  }
  const model = (k8s as unknown as Record<string, ModelWithAttributes | undefined>)[type];
  if (!model?.getAttributeTypeMap || typeof value !== 'object' || value === null) {
    return [];
  }
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([k, v]) => {
    const t = attributes.get(k);
    return t === undefined ? [`unknown field ${path}.${k}`] : unknownFields(v, t, `${path}.${k}`);
  });
}
