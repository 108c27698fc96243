import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadApiConfig, loadWorkerConfig } from '@leash/config';
import { keyFileExposure } from '@leash/providers';
import { kustomize, schemaProblems, type KubeObject } from '../support/kube-manifests';
import { freePort } from '../support/free-port';
import { ProcessHandle } from '../support/process-handle';

// Renders every overlay with the real `kubectl kustomize`, validates each object against the pinned
// Kubernetes API schemas, and checks what a production install needs (issue 15).

const ROOT = join(__dirname, '..', '..');
const KUSTOMIZE = join(ROOT, 'deploy', 'kubernetes');
const OVERLAYS = ['production', 'sentinel-trial'];
const OPERATIONS = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
const LEASH_COMPONENTS = ['api', 'worker'];

type Any = any;

const rendered = new Map(OVERLAYS.map((o) => [o, kustomize(join(KUSTOMIZE, 'overlays', o))]));
const production = rendered.get('production') ?? [];
const trial = rendered.get('sentinel-trial') ?? [];

const ofKind = (objs: KubeObject[], kind: string): Any[] => objs.filter((o) => o.kind === kind);
const named = (objs: KubeObject[], kind: string, name: string): Any => {
  const found = objs.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    throw new Error(`${kind}/${name} not rendered`);
  }
  return found;
};
const workloads = (objs: KubeObject[]): Any[] =>
  objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
const leashDeployment = (objs: KubeObject[], component: string): Any => named(objs, 'Deployment', `leash-${component}`);
const envOf = (objs: KubeObject[]): Record<string, string> => {
  const cm = ofKind(objs, 'ConfigMap').find((c) => c.metadata.name.startsWith('leash-env-'));
  return (cm?.data ?? {}) as Record<string, string>;
};
const policyOf = (objs: KubeObject[]): Any => {
  const cm = ofKind(objs, 'ConfigMap').find((c) => c.metadata.name.startsWith('leash-policy-'));
  return parse(cm.data['policy.yaml'] as string);
};
const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
const podLabels = (w: Any): Record<string, string> => w.spec.template.metadata.labels;
/** Roles served by the broker's own in-cluster identity (no kubeconfig context). */
const inClusterKubernetesRoles = (policy: Any): Any[] =>
  (policy.roles as Any[]).filter(
    (r) => r.provider === 'kubernetes' && (r.settings.cluster === undefined || r.settings.cluster === 'in-cluster'),
  );

describe('Kubernetes manifests (kubectl kustomize + pinned API schemas)', () => {
  it.each(OVERLAYS)('%s renders, and every object is valid against the Kubernetes v1.33 schemas', (overlay) => {
    const objs = rendered.get(overlay) ?? [];
    expect(objs.length).toBeGreaterThan(10);
    expect(objs.flatMap(schemaProblems)).toEqual([]);
  });

  it('the validation catches a wrong type, a missing field and an unknown field', () => {
    const api = structuredClone(leashDeployment(production, 'api'));
    api.spec.template.spec.containers[0].readinesProbe = { httpGet: { path: '/readyz', port: 8080 } };
    api.spec.template.spec.securityContext.runAsUser = 'node';
    delete api.spec.selector;
    const problems = schemaProblems(api).join('\n');
    expect(problems).toMatch(/runAsUser must be integer/);
    expect(problems).toMatch(/required property selector/);
    expect(problems).toMatch(/unknown field \.spec\.template\.spec\.containers\[0\]\.readinesProbe/);
  });

  it.each(OVERLAYS)('%s: API and worker settings pass the configuration validation of Leash', (overlay) => {
    const objs = rendered.get(overlay) ?? [];
    for (const c of LEASH_COMPONENTS) {
      const container = leashDeployment(objs, c).spec.template.spec.containers[0];
      const env: Record<string, string> = { ...envOf(objs) };
      for (const v of (container.env ?? []) as Any[]) {
        const ref = v.valueFrom?.secretKeyRef;
        if (v.value !== undefined) {
          env[v.name] = v.value;
        } else if (ref && !ref.optional) {
          // A required Secret: its value as the operator creates it (docs/operations.md).
          const secret = named_opt(objs, 'Secret', ref.name) as Any;
          env[v.name] = secret
            ? Buffer.from(secret.data[ref.key], 'base64').toString()
            : 'rediss://:pw@redis.internal:6380';
        }
      }
      expect(() => (c === 'api' ? loadApiConfig(env) : loadWorkerConfig(env))).not.toThrow();
    }
  });

  it.each(OVERLAYS)('%s: the policy in its ConfigMap passes `leash policy validate`', (overlay) => {
    const cm = ofKind(rendered.get(overlay) ?? [], 'ConfigMap').find((c) =>
      c.metadata.name.startsWith('leash-policy-'),
    );
    const dir = mkdtempSync(join(tmpdir(), 'leash-policy-'));
    try {
      const file = join(dir, 'policy.yaml');
      writeFileSync(file, cm.data['policy.yaml']);
      const run = spawnSync(process.execPath, [join(ROOT, 'bin', 'leash.js'), 'policy', 'validate', file], {
        encoding: 'utf8',
      });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('production overlay', () => {
  const env = envOf(production);

  it('runs at least two API and two worker replicas; the API autoscales from two', () => {
    for (const c of LEASH_COMPONENTS) {
      expect(leashDeployment(production, c).spec.replicas).toBeGreaterThanOrEqual(2);
    }
    const hpa = named(production, 'HorizontalPodAutoscaler', 'leash-api');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'leash-api' });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
  });

  it('a PodDisruptionBudget keeps API and workers serving through drains', () => {
    for (const c of LEASH_COMPONENTS) {
      const d = leashDeployment(production, c);
      const pdbs = ofKind(production, 'PodDisruptionBudget').filter((p) =>
        selects(p.spec.selector.matchLabels, podLabels(d)),
      );
      expect(pdbs).toHaveLength(1);
      const { maxUnavailable, minAvailable } = pdbs[0].spec;
      const allowed = maxUnavailable !== undefined ? maxUnavailable : d.spec.replicas - minAvailable;
      expect(allowed).toBeGreaterThanOrEqual(1);
      expect(allowed).toBeLessThan(d.spec.replicas);
    }
  });

  it('spreads API and worker pods across nodes and zones', () => {
    for (const c of LEASH_COMPONENTS) {
      const d = leashDeployment(production, c);
      const spread = d.spec.template.spec.topologySpreadConstraints as Any[];
      const byKey = new Map(spread.map((s) => [s.topologyKey, s]));
      for (const key of ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']) {
        expect(byKey.get(key)?.maxSkew).toBe(1);
        expect(selects(byKey.get(key).labelSelector.matchLabels, podLabels(d))).toBe(true);
      }
      expect(byKey.get('kubernetes.io/hostname').whenUnsatisfiable).toBe('DoNotSchedule');
    }
  });

  it('probes the API on /healthz and /readyz, and the worker on its health endpoint', () => {
    for (const c of LEASH_COMPONENTS) {
      const container = leashDeployment(production, c).spec.template.spec.containers[0];
      const port = c === 'api' ? 'http' : 'metrics';
      expect(container.startupProbe.httpGet).toEqual({ path: '/healthz', port });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port });
      expect(container.ports.map((p: Any) => p.name)).toContain(port);
    }
    // The ports the probes name are the ports Leash listens on, on all interfaces.
    const ports = (c: string) =>
      Object.fromEntries(
        leashDeployment(production, c).spec.template.spec.containers[0].ports.map((p: Any) => [
          p.name,
          p.containerPort,
        ]),
      );
    expect(String(ports('api').http)).toBe(env.LEASH_PORT);
    expect(String(ports('api').metrics)).toBe(env.LEASH_METRICS_PORT);
    expect(String(ports('worker').metrics)).toBe(env.LEASH_WORKER_METRICS_PORT);
    expect(env.LEASH_HOST).toBe('0.0.0.0');
    expect(env.LEASH_METRICS_HOST).toBe('0.0.0.0');
  });

  it('gives SIGTERM time to drain: grace period > preStop + 10 s (SPEC §8) + margin', () => {
    const api = leashDeployment(production, 'api').spec.template.spec;
    const preStop = Number(api.containers[0].lifecycle.preStop.exec.command[1]);
    expect(api.containers[0].lifecycle.preStop.exec.command[0]).toBe('sleep');
    expect(preStop).toBeGreaterThan(0);
    expect(api.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStop + 10 + 5);
    const worker = leashDeployment(production, 'worker').spec.template.spec;
    expect(worker.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(10 + 5);
  });

  it('points at the Redis secret, never the development issuer', () => {
    expect(env.LEASH_DEV_ISSUER ?? 'false').toBe('false');
    expect(env.LEASH_PUBLIC_URL).toMatch(/^https:\/\//);
    for (const c of LEASH_COMPONENTS) {
      const vars = leashDeployment(production, c).spec.template.spec.containers[0].env as Any[];
      expect(vars.find((v) => v.name === 'LEASH_REDIS_URL').valueFrom.secretKeyRef).toEqual({
        name: 'leash-redis',
        key: 'url',
      });
      // No secret value inline in a manifest.
      for (const v of vars.filter((x) => /SECRET|TOKEN|PASSWORD|_URL$/.test(x.name))) {
        expect(v.value).toBeUndefined();
      }
    }
  });

  it('ServiceAccounts carry the IRSA and GKE Workload Identity annotations', () => {
    for (const c of LEASH_COMPONENTS) {
      const sa = named(production, 'ServiceAccount', `leash-${c}`);
      expect(sa.metadata.annotations['eks.amazonaws.com/role-arn']).toMatch(/^arn:aws:iam::\d{12}:role\//);
      expect(sa.metadata.annotations['iam.gke.io/gcp-service-account']).toMatch(/@.+\.iam\.gserviceaccount\.com$/);
      expect(leashDeployment(production, c).spec.template.spec.serviceAccountName).toBe(`leash-${c}`);
    }
  });

  it('the policy ConfigMap and settings roll the pods when they change (name hash)', () => {
    const copy = mkdtempSync(join(tmpdir(), 'leash-kustomize-'));
    try {
      cpSync(KUSTOMIZE, copy, { recursive: true });
      const policyFile = join(copy, 'overlays', 'production', 'policy.yaml');
      writeFileSync(policyFile, readFileSync(policyFile, 'utf8').replace(/^version: .*$/m, 'version: changed-by-test'));
      const changed = kustomize(join(copy, 'overlays', 'production'));
      for (const c of LEASH_COMPONENTS) {
        const volumes = (objs: KubeObject[]) =>
          (leashDeployment(objs, c).spec.template.spec.volumes as Any[]).find((v) => v.name === 'policy').configMap
            .name;
        expect(volumes(production)).toMatch(/^leash-policy-[a-z0-9]{10}$/);
        expect(volumes(changed)).toMatch(/^leash-policy-[a-z0-9]{10}$/);
        expect(volumes(changed)).not.toBe(volumes(production));
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('mounts the JWT key Secret so Leash accepts it, and the loader still refuses keys others can read', () => {
    for (const c of LEASH_COMPONENTS) {
      const spec = leashDeployment(production, c).spec.template.spec;
      const volume = (spec.volumes as Any[]).find((v) => v.secret?.secretName === 'leash-jwt-keys');
      const mount = (spec.containers[0].volumeMounts as Any[]).find((m) => m.name === volume.name);
      expect(env.LEASH_JWT_KEYS.startsWith(`${mount.mountPath}/`)).toBe(true);
      expect(mount.readOnly).toBe(true);
      const { runAsUser, runAsGroup, fsGroup } = spec.securityContext;
      // The kubelet writes Secret files as root, group fsGroup, with the group bits of the mode.
      const asMounted = { mode: 0o100000 | volume.secret.defaultMode, uid: 0, gid: fsGroup };
      const self = { uid: runAsUser, groups: [runAsGroup, fsGroup] };
      expect(keyFileExposure(asMounted, self)).toBeUndefined();
      expect(keyFileExposure({ ...asMounted, mode: 0o100444 }, self)).toMatch(/other users/);
      expect(keyFileExposure({ ...asMounted, uid: runAsUser }, self)).toMatch(/readable by group/);
    }
  });

  it('only the kubernetes provider gets a Kubernetes API token, with the RBAC its roles need and nothing more', () => {
    const roles = inClusterKubernetesRoles(policyOf(production));
    expect(roles.length).toBeGreaterThan(0);
    for (const sa of ofKind(production, 'ServiceAccount')) {
      expect(sa.automountServiceAccountToken).toBe(false);
    }
    for (const c of LEASH_COMPONENTS) {
      expect(leashDeployment(production, c).spec.template.spec.automountServiceAccountToken).toBe(true);
    }
    expect(ofKind(production, 'ClusterRoleBinding')).toEqual([]);
    const namespace = leashDeployment(production, 'api').metadata.namespace;
    for (const role of roles) {
      const ns = role.settings.namespace;
      const rbacRole = ofKind(production, 'Role').find((r) => r.metadata.namespace === ns);
      expect(rbacRole.rules).toEqual([
        { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['create', 'get', 'list', 'delete'] },
        { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
        { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings', 'roles'], verbs: ['create', 'delete'] },
      ]);
      const bindings = ofKind(production, 'RoleBinding').filter((b) => b.metadata.namespace === ns);
      for (const b of bindings) {
        expect(b.subjects).toEqual([
          { kind: 'ServiceAccount', name: 'leash-api', namespace },
          { kind: 'ServiceAccount', name: 'leash-worker', namespace },
        ]);
      }
      expect(bindings.map((b) => b.roleRef.name).sort()).toEqual(['leash-broker', 'leash-broker-bind']);
      if (role.settings.clusterRole) {
        const bind = named(production, 'ClusterRole', 'leash-broker-bind');
        expect(bind.rules).toEqual([expect.objectContaining({ resources: ['clusterroles'], verbs: ['bind'] })]);
        expect(bind.rules[0].resourceNames).toContain(role.settings.clusterRole);
      }
    }
    for (const cr of ofKind(production, 'ClusterRole')) {
      expect(cr.rules.every((r: Any) => r.verbs.join() === 'bind' && r.resourceNames?.length > 0)).toBe(true);
    }
  });

  it('NetworkPolicies: default deny, ingress to the API (and metrics from monitoring), egress to DNS, Redis and HTTPS', () => {
    const policies = ofKind(production, 'NetworkPolicy');
    const api = podLabels(leashDeployment(production, 'api'));
    const worker = podLabels(leashDeployment(production, 'worker'));
    const deny = policies.find((p) => !p.spec.ingress && !p.spec.egress);
    expect(deny.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    expect(selects(deny.spec.podSelector.matchLabels, api) && selects(deny.spec.podSelector.matchLabels, worker)).toBe(
      true,
    );
    const ingressTo = (labels: Record<string, string>) =>
      policies
        .filter((p) => p.spec.ingress && selects(p.spec.podSelector.matchLabels ?? {}, labels))
        .flatMap((p) => p.spec.ingress as Any[]);
    // The worker accepts nothing but scrapes of its metrics port from the monitoring namespace.
    for (const rule of ingressTo(worker)) {
      expect(rule.ports).toEqual([{ port: 'metrics', protocol: 'TCP' }]);
      expect(rule.from).toEqual([
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
      ]);
    }
    expect(
      ingressTo(api)
        .flatMap((r) => r.ports.map((p: Any) => p.port))
        .sort(),
    ).toEqual(['http', 'metrics']);
    const egressPorts = policies
      .filter((p) => p.spec.egress && selects(p.spec.podSelector.matchLabels, worker))
      .flatMap((p) => p.spec.egress as Any[])
      .flatMap((r) => r.ports.map((p: Any) => `${p.port}/${p.protocol}`));
    expect(egressPorts).toEqual(expect.arrayContaining(['53/UDP', '53/TCP', '6379/TCP', '26379/TCP', '443/TCP']));
    // HTTPS to the outside only: never to private ranges or the node's metadata endpoint.
    const https = policies
      .flatMap((p) => (p.spec.egress ?? []) as Any[])
      .find((r) => r.to?.[0]?.ipBlock?.cidr === '0.0.0.0/0');
    expect(https.ports).toEqual([{ port: 443, protocol: 'TCP' }]);
    expect(https.to[0].ipBlock.except).toEqual(expect.arrayContaining(['10.0.0.0/8', '169.254.0.0/16']));
  });

  it('scrapes both metrics Services with a ServiceMonitor, and ships the promtool-tested rules as a PrometheusRule', () => {
    const monitor = named(production, 'ServiceMonitor', 'leash');
    const scraped = ofKind(production, 'Service').filter((s) =>
      selects(monitor.spec.selector.matchLabels, s.metadata.labels),
    );
    expect(scraped.map((s) => s.metadata.labels[monitor.spec.jobLabel]).sort()).toEqual(['leash-api', 'leash-worker']);
    for (const s of scraped) {
      expect(s.spec.ports.map((p: Any) => p.name)).toContain(monitor.spec.endpoints[0].port);
      const target = ofKind(production, 'Deployment').find((d) => selects(s.spec.selector, podLabels(d)));
      expect(target).toBeDefined();
    }
    // The public Service exposes the API port only.
    expect(named(production, 'Service', 'leash-api').spec.ports.map((p: Any) => p.targetPort)).toEqual(['http']);
    const rules = parse(readFileSync(join(ROOT, 'deploy', 'observability', 'leash-alerts.yaml'), 'utf8'));
    expect(named(production, 'PrometheusRule', 'leash').spec.groups).toEqual(rules.groups);
  });
});

describe.each(OVERLAYS)('%s overlay: every workload is hardened', (overlay) => {
  const objs = rendered.get(overlay) ?? [];

  it('non-root, read-only root filesystem, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, requests and limits', () => {
    expect(workloads(objs).length).toBeGreaterThanOrEqual(2);
    for (const w of workloads(objs)) {
      const pod = w.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      expect(pod.hostNetwork ?? false).toBe(false);
      for (const c of [...(pod.initContainers ?? []), ...pod.containers] as Any[]) {
        const label = `${w.metadata.name}/${c.name}`;
        expect({ label, ...c.securityContext }).toEqual({
          label,
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          privileged: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        for (const kind of ['requests', 'limits']) {
          expect(Object.keys(c.resources[kind]).sort()).toEqual(['cpu', 'memory']);
        }
        expect(c.image).toMatch(/^[^:@]+(:[\w.-]+)?(@sha256:[a-f0-9]{64})?$/);
        expect(c.image).toMatch(/:[\w.-]+|@sha256:/);
        expect(c.image).not.toMatch(/:latest$/);
        expect(c.livenessProbe).toBeDefined();
        expect(c.readinessProbe).toBeDefined();
      }
    }
  });

  it('no pod gets a Kubernetes API token unless it runs the kubernetes provider for in-cluster roles', () => {
    const needsToken = inClusterKubernetesRoles(policyOf(objs)).length > 0;
    for (const w of workloads(objs)) {
      const component = w.spec.template.metadata.labels['app.kubernetes.io/component'];
      const isLeash = w.spec.template.metadata.labels['app.kubernetes.io/name'] === 'leash';
      expect({ w: w.metadata.name, automount: w.spec.template.spec.automountServiceAccountToken }).toEqual({
        w: w.metadata.name,
        automount: needsToken && isLeash && LEASH_COMPONENTS.includes(component),
      });
    }
  });
});

describe('sentinel-trial overlay', () => {
  const env = envOf(trial);
  const redis = named(trial, 'StatefulSet', 'leash-redis');
  const config = named(trial, 'ConfigMap', 'leash-redis-config').data['redis.conf'] as string;
  const scripts = ofKind(trial, 'ConfigMap').find((c) => c.metadata.name.startsWith('leash-redis-scripts-')).data;

  it('points Leash at its Sentinel set: the master name and the sentinel hosts are the StatefulSet pods', () => {
    expect(env.LEASH_REDIS_MODE).toBe('sentinel');
    expect(scripts['sentinel-start.sh']).toContain(
      `sentinel monitor ${env.LEASH_REDIS_SENTINEL_MASTER} $master 6379 2`,
    );
    const hosts = env.LEASH_REDIS_SENTINELS.split(',');
    expect(hosts).toEqual(
      Array.from(
        { length: redis.spec.replicas },
        (_, i) => `${redis.metadata.name}-${i}.${redis.spec.serviceName}:26379`,
      ),
    );
    expect(redis.spec.replicas).toBeGreaterThanOrEqual(3);
  });

  it('its redis.conf is accepted by a real redis-server: AOF on, noeviction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leash-redis-conf-'));
    const file = join(dir, 'redis.conf');
    writeFileSync(file, config.replace(/^dir .*$/m, `dir ${dir}`));
    const port = await freePort();
    const server = new ProcessHandle(
      `trial-redis-conf-${port}`,
      'redis-server',
      [file, '--port', String(port), '--bind', '127.0.0.1'],
      {},
      /Ready to accept connections/,
    );
    try {
      await server.start();
      const get = (k: string) =>
        execFileSync('redis-cli', ['-p', String(port), '--raw', 'config', 'get', k], { encoding: 'utf8' })
          .trim()
          .split('\n')[1];
      expect(get('maxmemory-policy')).toBe('noeviction');
      expect(get('appendonly')).toBe('yes');
      expect(get('appendfsync')).toBe('everysec');
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('only Leash and Redis pods reach Redis', () => {
    const np = named(trial, 'NetworkPolicy', 'leash-redis');
    expect(
      np.spec.ingress
        .flatMap((r: Any) => r.from.map((f: Any) => f.podSelector.matchLabels['app.kubernetes.io/name']))
        .sort(),
    ).toEqual(['leash', 'leash-redis']);
  });
});

describe('docs/operations.md', () => {
  it('documents every value in the manifests a user must change', () => {
    const mustChange = new Set<string>();
    for (const objs of rendered.values()) {
      const env = envOf(objs);
      mustChange.add(env.LEASH_PUBLIC_URL);
      for (const w of workloads(objs)) {
        for (const c of w.spec.template.spec.containers as Any[]) {
          mustChange.add(c.image);
          for (const v of (c.env ?? []) as Any[]) {
            if (v.valueFrom?.secretKeyRef && !named_opt(objs, 'Secret', v.valueFrom.secretKeyRef.name)) {
              mustChange.add(v.valueFrom.secretKeyRef.name);
              mustChange.add(v.valueFrom.secretKeyRef.key);
            }
          }
          for (const vol of (w.spec.template.spec.volumes ?? []) as Any[]) {
            if (vol.secret && !named_opt(objs, 'Secret', vol.secret.secretName)) {
              mustChange.add(vol.secret.secretName);
            }
          }
        }
      }
      for (const sa of ofKind(objs, 'ServiceAccount')) {
        for (const [k, v] of Object.entries((sa.metadata.annotations ?? {}) as Record<string, string>)) {
          mustChange.add(k);
          mustChange.add(v);
        }
      }
      for (const np of ofKind(objs, 'NetworkPolicy')) {
        for (const rule of (np.spec.egress ?? []) as Any[]) {
          for (const to of (rule.to ?? []) as Any[]) {
            if (to.ipBlock && to.ipBlock.cidr !== '0.0.0.0/0') {
              mustChange.add(to.ipBlock.cidr);
            }
          }
        }
      }
      for (const r of [...ofKind(objs, 'Role'), ...ofKind(objs, 'ClusterRole')]) {
        (r.rules as Any[]).forEach((rule) => (rule.resourceNames ?? []).forEach((n: string) => mustChange.add(n)));
      }
    }
    mustChange.add('LEASH_SLACK_CHANNEL');
    const undocumented = [...mustChange].filter((v) => !OPERATIONS.includes(v));
    expect(undocumented).toEqual([]);
  });

  it('names every file that has a REPLACE marker', () => {
    const files = execFileSync('grep', ['-rl', 'REPLACE', KUSTOMIZE], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((f) => f.slice(KUSTOMIZE.length + 1));
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter((f) => !OPERATIONS.includes(f))).toEqual([]);
  });

  it('names, in each `kubectl set image`, a Deployment and a container the production overlay renders', () => {
    // The upgrade order (workers first) is done with `set image`: a wrong container name fails mid-upgrade.
    const commands = [
      ...OPERATIONS.replace(/\n/g, ' ').matchAll(/kubectl -n leash set image deployment\/(\S+)\s+(\S+?)=/g),
    ];
    expect(commands.length).toBeGreaterThan(0);
    for (const [, deployment, container] of commands) {
      const names = (named(production, 'Deployment', deployment).spec.template.spec.containers as Any[]).map(
        (c) => c.name,
      );
      expect(names).toContain(container);
    }
  });
});

function named_opt(objs: KubeObject[], kind: string, name: string): KubeObject | undefined {
  return objs.find((o) => o.kind === kind && o.metadata.name === name);
}
