import { LineCounter, parseAllDocuments } from 'yaml';
import { escapeRegExp, findLine, isProductionName, type Finding, type ParseOutcome } from './finding';

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'CronJob', 'Job', 'Pod']);
const BROAD_K8S_ROLES = new Set(['cluster-admin', 'admin', 'edit']);
const PUBLIC_SUBJECTS = new Set([
  'system:anonymous',
  'system:unauthenticated',
  'system:authenticated',
  'system:serviceaccounts',
]);

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Kubernetes manifests (one or more YAML documents with apiVersion and kind). */
export function kubernetesManifestFindings(text: string): ParseOutcome {
  if (!/^\s*apiVersion\s*:/m.test(text) || !/^\s*kind\s*:/m.test(text)) {
    return { understood: false, findings: [] };
  }
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false });
  if (!Array.isArray(docs) || docs.some((d) => d.errors.length > 0)) {
    return { understood: false, findings: [] };
  }
  const findings: Finding[] = [];
  let objects = 0;
  for (const doc of docs) {
    const root = obj(doc.toJS({ maxAliasCount: 100 }));
    const items = root.kind === 'List' ? arr(root.items).map(obj) : [root];
    const docLine = doc.contents?.range ? lineCounter.linePos(doc.contents.range[0]).line : 1;
    for (const o of items) {
      const kind = str(o.kind);
      if (!kind || !str(o.apiVersion)) {
        continue;
      }
      objects++;
      findings.push(...objectFindings(text, o, kind, docLine));
    }
  }
  return objects > 0 ? { understood: true, findings } : { understood: false, findings: [] };
}

function objectFindings(text: string, o: Obj, kind: string, docLine: number): Finding[] {
  const meta = obj(o.metadata);
  const name = str(meta.name) ?? '(unnamed)';
  const namespace = str(meta.namespace);
  const resource = `${kind}/${namespace ? `${namespace}/` : ''}${name}`;
  const line =
    findLine(text, new RegExp(`^\\s*-?\\s*kind:\\s*["']?${escapeRegExp(kind)}["']?\\s*$`), docLine) ?? docLine;
  const at = (pattern: RegExp) => findLine(text, pattern, line) ?? line;
  const base = { source: 'kubernetes', resource };
  const out: Finding[] = [];
  if (namespace && isProductionName(namespace)) {
    out.push({
      ...base,
      kind: 'impact',
      weight: 1,
      production: true,
      line: at(/^\s*namespace:/),
      detail: `${resource} is in Kubernetes namespace ${namespace}`,
    });
  }
  if (kind === 'Namespace' && isProductionName(name)) {
    out.push({
      ...base,
      kind: 'impact',
      weight: 1,
      production: true,
      line,
      detail: `${resource} is the production namespace ${name}`,
    });
  }
  const spec = obj(o.spec);
  if (WORKLOADS.has(kind) && spec.replicas === 0) {
    out.push({
      ...base,
      kind: 'impact',
      weight: 2,
      line: at(/^\s*replicas:\s*0\b/),
      detail: `${resource} scales to zero replicas`,
    });
  }
  if (kind === 'ClusterRoleBinding' || kind === 'RoleBinding') {
    const roleName = str(obj(o.roleRef).name) ?? '';
    out.push({
      ...base,
      kind: 'security',
      weight: 2,
      line,
      detail: `${resource} binds ${str(obj(o.roleRef).kind) ?? 'role'} ${roleName}`,
    });
    if (BROAD_K8S_ROLES.has(roleName)) {
      out.push({
        ...base,
        kind: 'security',
        weight: 2,
        line: at(new RegExp(`name:\\s*["']?${escapeRegExp(roleName)}`)),
        detail: `${resource} grants the broad role ${roleName}`,
      });
    }
    for (const s of arr(o.subjects).map(obj)) {
      const subject = str(s.name) ?? '';
      if (PUBLIC_SUBJECTS.has(subject)) {
        out.push({
          ...base,
          kind: 'security',
          weight: 2,
          line: at(new RegExp(escapeRegExp(subject))),
          detail: `${resource} grants to everyone in ${subject}`,
        });
      }
    }
  }
  if (kind === 'ClusterRole' || kind === 'Role') {
    const wild = arr(o.rules)
      .map(obj)
      .some((r) => [...arr(r.verbs), ...arr(r.resources), ...arr(r.apiGroups).filter(() => false)].includes('*'));
    if (wild) {
      out.push({
        ...base,
        kind: 'security',
        weight: 2,
        line: at(/["']\*["']|\[\s*["']?\*/),
        detail: `${resource} allows every verb or resource (*)`,
      });
    } else {
      out.push({ ...base, kind: 'security', weight: 1, line, detail: `${resource} changes RBAC permissions` });
    }
  }
  if (kind === 'Secret') {
    out.push({ ...base, kind: 'security', weight: 1, line, detail: `${resource} writes a Secret` });
  }
  const pod = obj(
    kind === 'Pod'
      ? spec
      : kind === 'CronJob'
        ? obj(obj(obj(spec.jobTemplate).spec).template).spec
        : obj(spec.template).spec,
  );
  const containers = [...arr(pod.containers), ...arr(pod.initContainers)].map(obj);
  if (containers.some((c) => obj(c.securityContext).privileged === true)) {
    out.push({
      ...base,
      kind: 'security',
      weight: 2,
      line: at(/privileged:\s*true/),
      detail: `${resource} runs a privileged container`,
    });
  }
  if (pod.hostNetwork === true || pod.hostPID === true) {
    out.push({
      ...base,
      kind: 'security',
      weight: 2,
      line: at(/host(Network|PID):\s*true/),
      detail: `${resource} shares the node's network or process namespace`,
    });
  }
  if (arr(pod.volumes).some((v) => obj(v).hostPath !== undefined)) {
    out.push({
      ...base,
      kind: 'security',
      weight: 2,
      line: at(/hostPath:/),
      detail: `${resource} mounts a path of the node (hostPath)`,
    });
  }
  return out;
}
