import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthenticationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { FakeKubeApi } from '../fakes/kubernetes/fake-kube-api';
import { writeBrokerKubeconfig } from '../fakes/kubernetes/kubeconfig';
import { eventually } from '../support/eventually';
import { LeashStack } from '../support/leash-stack';

const ROOT = join(__dirname, '..', '..');
const LEASH = join(ROOT, 'bin', 'leash.js');
const ROLE = 'demo-k8s-deploy';
const agent = { subject: 'agent-k8s', owner: 'bob' };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const running = new Set<ReturnType<typeof spawn>>();

/** Runs a command to completion; `onStderr` sees its stderr as it arrives. Killed by pid if still running at afterAll. */
function run(
  command: string,
  args: string[],
  env: Record<string, string>,
  onStderr?: (all: string) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      onStderr?.(stderr);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      running.delete(child);
      if (process.env.LEASH_TEST_DEBUG) {
        process.stderr.write(`${command} ${args.join(' ')} → ${code}\n${stderr}\n`);
      }
      resolve({ code, stdout, stderr });
    });
  });
}

describe('kubernetes provider end to end (broker, worker, CLI and real kubectl against a TLS fake API server)', () => {
  let fake: FakeKubeApi;
  let stack: LeashStack;
  let dir: string;
  let kubeconfig: string;
  let agentToken: string;
  let approverToken: string;

  beforeAll(async () => {
    fake = await new FakeKubeApi().start();
    dir = mkdtempSync(join(tmpdir(), 'leash-k8s-e2e-'));
    kubeconfig = writeBrokerKubeconfig(join(dir, 'broker-kubeconfig'), fake);
    stack = await LeashStack.start({
      name: 'k8s',
      env: { KUBECONFIG: kubeconfig, LEASH_SWEEP_INTERVAL_MS: '1000' },
    });
    agentToken = await stack.devToken(agent);
    approverToken = await stack.devToken({ subject: 'alice' });
  });

  afterAll(async () => {
    for (const child of running) {
      child.kill('SIGKILL');
    }
    await stack?.stop();
    await fake?.stop();
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** The broker's view of the cluster (its own kubeconfig) and a lease token's view. */
  const brokerClient = (): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    return kc;
  };
  const tokenReview = async (token: string): Promise<boolean | undefined> =>
    (
      await brokerClient()
        .makeApiClient(AuthenticationV1Api)
        .createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } })
    ).status?.authenticated;
  const listPodsAs = async (credential: Record<string, string>): Promise<number> => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: credential.server, caData: credential.certificateAuthorityData }],
      users: [{ name: 'lease', token: credential.token }],
      contexts: [{ name: 'lease', cluster: 'c', user: 'lease' }],
      currentContext: 'lease',
    });
    try {
      await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: credential.namespace });
      return 200;
    } catch (err) {
      return (err as { code: number }).code;
    }
  };

  const approvedRequest = async (session: string): Promise<string> => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agentToken,
      body: { role: ROLE, environment: 'production', ttlSeconds: 600, reason: 'deploy web', session: { id: session } },
    });
    expect(created.status).toBe(201);
    expect(created.body.state).toBe('pending');
    const approved = await stack.call('POST', `/v1/requests/${created.body.id}/approve`, {
      token: approverToken,
      body: {},
    });
    expect(approved.body.state).toBe('approved');
    return created.body.id as string;
  };

  const leaseObjects = (leaseId: string): string[] =>
    (['ServiceAccount', 'Role', 'RoleBinding'] as const)
      .filter((kind) => fake.get(kind, 'production', `leash-${leaseId}`) !== undefined)
      .map((kind) => kind);

  it('approve → the token lists pods → revoke → TokenReview false, objects gone, token refused', async () => {
    const id = await approvedRequest('k8s-api-1');
    const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agentToken });
    expect(claim.status).toBe(201);
    const credential = claim.body.credential as Record<string, string>;
    const leaseId = claim.body.lease.id as string;
    expect(Object.keys(credential).sort()).toEqual(
      ['certificateAuthorityData', 'expirationTimestamp', 'namespace', 'server', 'token'].sort(),
    );
    expect(credential).toMatchObject({ server: fake.url, namespace: 'production' });
    expect(Date.parse(credential.expirationTimestamp)).toBeLessThanOrEqual(
      Date.parse(claim.body.lease.expiresAt as string),
    );
    expect(claim.body.lease.providerRef).toMatchObject({
      cluster: 'leash-demo',
      serviceAccount: `production/leash-${leaseId}`,
    });

    const sa = fake.get('ServiceAccount', 'production', `leash-${leaseId}`);
    expect(sa?.metadata.labels).toMatchObject({
      'leash.dev/lease': leaseId,
      'leash.dev/session': 'k8s-api-1',
      'leash.dev/environment': 'production',
    });
    // The approval receipt, as in AWS session tags: the request id and the prefix of the digest that was approved.
    const digest = (await stack.call('GET', `/v1/requests/${id}`, { token: agentToken })).body.digest as string;
    expect(sa?.metadata.annotations).toMatchObject({
      'leash.dev/principal': 'agent-k8s',
      'leash.dev/request': id,
      'leash.dev/approval': `sha256:${digest.slice(0, 16)}`,
    });
    expect(fake.get('RoleBinding', 'production', `leash-${leaseId}`)?.roleRef).toMatchObject({
      kind: 'ClusterRole',
      name: 'edit',
    });
    expect(await listPodsAs(credential)).toBe(200);
    expect(await tokenReview(credential.token)).toBe(true);

    const revoked = await stack.call('DELETE', `/v1/leases/${leaseId}`, { token: agentToken });
    expect(revoked.status).toBe(200);
    expect(revoked.body.state).toBe('revoked');
    expect(await tokenReview(credential.token)).toBe(false);
    expect(leaseObjects(leaseId)).toEqual([]);
    expect(await listPodsAs(credential)).toBe(401);
  });

  it('kubectl get pods runs the exec plugin, waits for approval, and loses access once the lease is revoked', async () => {
    const printed = await run(
      process.execPath,
      [LEASH, 'kubeconfig', ROLE, '--env', 'production', '--session', 'k8s-kubectl', '--reason', 'rollout web'],
      { PATH: process.env.PATH ?? '' },
    );
    expect(printed.code).toBe(0);
    const entry = parse(printed.stdout) as { users: [{ name: string; user: { exec: Record<string, any> } }] };
    expect(entry.users[0].user.exec).toMatchObject({
      apiVersion: 'client.authentication.k8s.io/v1',
      command: 'leash',
      args: ['kube-exec', ROLE, '--env', 'production', '--reason', 'rollout web', '--session', 'k8s-kubectl'],
      interactiveMode: 'Never',
    });
    // Same entry, but run through this checkout's bin/leash.js.
    const exec = {
      ...entry.users[0].user.exec,
      command: process.execPath,
      args: [LEASH, ...entry.users[0].user.exec.args],
    };
    const cluster = { server: fake.url, 'certificate-authority-data': Buffer.from(fake.caPem).toString('base64') };
    const userKubeconfig = join(dir, 'agent-kubeconfig');
    writeFileSync(
      userKubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'demo', cluster }],
        users: [{ name: entry.users[0].name, user: { exec } }],
        contexts: [{ name: 'demo', context: { cluster: 'demo', user: entry.users[0].name, namespace: 'production' } }],
        'current-context': 'demo',
      }),
    );
    const env = { PATH: process.env.PATH ?? '', HOME: dir, LEASH_URL: stack.url, LEASH_TOKEN: agentToken };
    const kubectl = [
      '--kubeconfig',
      userKubeconfig,
      '--cache-dir',
      join(dir, 'kube-cache'),
      'get',
      'pods',
      '-n',
      'production',
    ];

    // The plugin's progress reaches kubectl's stderr; an approver approves the pending request meanwhile.
    let approving: Promise<void> | undefined;
    const first = await run('kubectl', kubectl, env, (stderr) => {
      const id = /(req-[a-z2-7]{20}) needs approval/.exec(stderr)?.[1];
      if (id && !approving) {
        approving = (async () => {
          const view = await stack.call('GET', `/v1/requests/${id}`, { token: approverToken });
          expect(view.body).toMatchObject({ state: 'pending', role: ROLE });
          await stack.call('POST', `/v1/requests/${id}/approve`, { token: approverToken, body: {} });
        })();
      }
    });
    await approving;
    expect(first.stderr).toContain('needs approval');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/web-0\s+Running/);

    const leases = await stack.call('GET', '/v1/leases?session=k8s-kubectl', { token: agentToken });
    expect(leases.body.leases).toHaveLength(1);
    const lease = leases.body.leases[0] as { id: string; fingerprint: string };
    const seen = fake.tokensSeen.at(-1) as string;
    stack.issuedSecrets.push(seen);
    expect(lease.fingerprint).toContain(seen.slice(-4));
    expect(first.stderr).not.toContain(seen);

    expect((await stack.call('DELETE', `/v1/leases/${lease.id}`, { token: agentToken })).status).toBe(200);
    expect(leaseObjects(lease.id)).toEqual([]);

    // The token kubectl was given is now refused by the API server.
    const tokenKubeconfig = join(dir, 'revoked-kubeconfig');
    writeFileSync(
      tokenKubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'demo', cluster }],
        users: [{ name: 'revoked', user: { token: seen } }],
        contexts: [{ name: 'demo', context: { cluster: 'demo', user: 'revoked' } }],
        'current-context': 'demo',
      }),
    );
    const before = fake.requests.length;
    const replay = await run(
      'kubectl',
      ['--kubeconfig', tokenKubeconfig, '--cache-dir', join(dir, 'kube-cache2'), ...kubectl.slice(4)],
      env,
    );
    expect(replay.code).not.toBe(0);
    expect(replay.stderr).toMatch(/Unauthorized|must be logged in/);
    expect(fake.requests.slice(before).some((r) => r.status === 401)).toBe(true);
    fake.requests.splice(0);

    // The same kubectl call asks for a new approval instead of reusing the revoked lease; denied, it fails.
    // (kubectl retries its discovery calls, running the plugin again after each failure: deny every ask.)
    const denials = new Map<string, Promise<unknown>>();
    const second = await run('kubectl', kubectl, env, (stderr) => {
      for (const [, id] of stderr.matchAll(/(req-[a-z2-7]{20}) needs approval/g)) {
        if (!denials.has(id)) {
          denials.set(
            id,
            stack.call('POST', `/v1/requests/${id}/deny`, { token: approverToken, body: { comment: 'not now' } }),
          );
        }
      }
    });
    await Promise.all(denials.values());
    expect(denials.size).toBeGreaterThanOrEqual(1);
    expect(second.code).not.toBe(0);
    expect(second.stdout).toBe('');
    expect(second.stderr).toContain('was denied by alice: not now');
  });

  it('kube-exec answers in the apiVersion kubectl asks for, with only the ExecCredential on stdout', async () => {
    const env = {
      PATH: process.env.PATH ?? '',
      LEASH_URL: stack.url,
      LEASH_TOKEN: agentToken,
      KUBERNETES_EXEC_INFO: JSON.stringify({
        apiVersion: 'client.authentication.k8s.io/v1beta1',
        kind: 'ExecCredential',
        spec: { interactive: false },
      }),
    };
    let approving: Promise<unknown> | undefined;
    const out = await run(
      process.execPath,
      [LEASH, 'kube-exec', ROLE, '--env', 'production', '--session', 'k8s-beta'],
      env,
      (stderr) => {
        const id = /(req-[a-z2-7]{20}) needs approval/.exec(stderr)?.[1];
        if (id && !approving) {
          approving = stack.call('POST', `/v1/requests/${id}/approve`, { token: approverToken, body: {} });
        }
      },
    );
    await approving;
    expect(out.code).toBe(0);
    const credential = JSON.parse(out.stdout) as { apiVersion: string; kind: string; status: Record<string, string> };
    expect(credential).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      kind: 'ExecCredential',
      status: { token: expect.any(String), expirationTimestamp: expect.stringMatching(/Z$/) },
    });
    stack.issuedSecrets.push(credential.status.token);
    expect(out.stderr).not.toContain(credential.status.token);
    expect(await tokenReview(credential.status.token)).toBe(true);
    await stack.call('DELETE', '/v1/sessions/k8s-beta', { token: agentToken });
    expect(await tokenReview(credential.status.token)).toBe(false);

    const unsupported = await run(process.execPath, [LEASH, 'kube-exec', ROLE, '--env', 'production'], {
      ...env,
      KUBERNETES_EXEC_INFO: '{"apiVersion":"client.authentication.k8s.io/v1alpha1"}',
    });
    expect(unsupported.code).toBe(2);
    expect(unsupported.stdout).toBe('');
    expect(unsupported.stderr).toContain('asked for ExecCredential client.authentication.k8s.io/v1alpha1');
  });

  it("under leash run, kube-exec reuses the session agent's approved lease instead of asking again", async () => {
    const execInfo = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
    const twice = `"${process.execPath}" "${LEASH}" kube-exec ${ROLE} --env production; "${process.execPath}" "${LEASH}" kube-exec ${ROLE} --env production`;
    const approvals: string[] = [];
    const out = await run(
      process.execPath,
      [LEASH, 'run', '--session', 'k8s-agent', '--', 'sh', '-c', twice],
      {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        LEASH_URL: stack.url,
        LEASH_TOKEN: agentToken,
        KUBERNETES_EXEC_INFO: execInfo,
      },
      (stderr) => {
        for (const [, id] of stderr.matchAll(/(req-[a-z2-7]{20}) needs approval/g)) {
          if (!approvals.includes(id)) {
            approvals.push(id);
            void stack.call('POST', `/v1/requests/${id}/approve`, { token: approverToken, body: {} });
          }
        }
      },
    );
    expect(out.code).toBe(0);
    const credentials = out.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { status: { token: string } });
    expect(credentials).toHaveLength(2);
    stack.issuedSecrets.push(credentials[0].status.token);
    expect(credentials[1].status.token).toBe(credentials[0].status.token);
    expect(approvals).toHaveLength(1);
    // The agent ended the session when the command exited: the token is dead.
    expect(await tokenReview(credentials[0].status.token)).toBe(false);
  });

  it('a failure halfway through issuing leaves no objects and answers problem+json; the claim can be retried', async () => {
    const id = await approvedRequest('k8s-halfway');
    const count = (): number =>
      fake.list('ServiceAccount', 'production').length + fake.list('RoleBinding', 'production').length;
    const baseline = count();

    fake.failNext('token', 500);
    const transient = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agentToken });
    expect(transient.status).toBe(503);
    expect(transient.headers.get('content-type')).toContain('application/problem+json');
    expect(transient.body).toMatchObject({ provider: 'kubernetes', providerCode: 'InternalError' });
    expect(count()).toBe(baseline);

    fake.failNext('rolebinding', 403);
    const refused = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agentToken });
    expect(refused.status).toBe(502);
    expect(refused.body.type).toMatch(/provider-failed$/);
    expect(count()).toBe(baseline);

    const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agentToken });
    expect(claim.status).toBe(201);
    expect(count()).toBe(baseline + 2);
    await stack.call('DELETE', `/v1/leases/${claim.body.lease.id}`, { token: agentToken });
    expect(count()).toBe(baseline);
  });

  it('without the leash-demo context the role answers 503 and the rest of the demo works', async () => {
    const id = await approvedRequest('k8s-nocontext');
    renameSync(kubeconfig, `${kubeconfig}.away`);
    try {
      const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agentToken });
      expect(claim.status).toBe(503);
      expect(claim.headers.get('content-type')).toContain('application/problem+json');
      expect(claim.body).toMatchObject({ provider: 'kubernetes', title: 'Provider not configured' });
      expect(claim.body.detail).toContain('cluster context "leash-demo" is unavailable');

      writeBrokerKubeconfig(kubeconfig, fake, 'some-other-cluster');
      const other = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agentToken });
      expect(other.status).toBe(503);
      expect(other.body.detail).toBe('kubeconfig context "leash-demo" not found');

      const staging = await stack.call('POST', '/v1/requests', {
        token: agentToken,
        body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 60, reason: 'read' },
      });
      expect(staging.body.state).toBe('approved');
      const jwt = await stack.call('POST', `/v1/requests/${staging.body.id}/credentials`, { token: agentToken });
      expect(jwt.status).toBe(201);
    } finally {
      rmSync(kubeconfig, { force: true });
      renameSync(`${kubeconfig}.away`, kubeconfig);
    }
    const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agentToken });
    expect(claim.status).toBe(201);
    await stack.call('DELETE', `/v1/leases/${claim.body.lease.id}`, { token: agentToken });
  });

  it('the worker sweep deletes ServiceAccounts whose lease is not active, and leaves live and just-created ones', async () => {
    const id = await approvedRequest('k8s-sweep');
    const live = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agentToken });
    const liveLease = live.body.lease.id as string;

    const revoked = await stack.call('GET', '/v1/leases?session=k8s-api-1', { token: agentToken });
    const revokedLease = revoked.body.leases[0].id as string;
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const orphan = 'lease-orphanedaaaaaaaaaaaaa';
    const fresh = 'lease-inflightaaaaaaaaaaaaa';
    const seed = (lease: string, created: string): void =>
      void fake.seed('ServiceAccount', 'production', {
        name: `leash-${lease}`,
        labels: { 'leash.dev/lease': lease },
        creationTimestamp: created,
      });
    seed(orphan, hourAgo); // a crash between creating the account and recording the lease
    seed(revokedLease, hourAgo); // a revoked lease whose account survived
    seed(fresh, new Date().toISOString().replace(/\.\d+Z$/, 'Z')); // a claim still in flight
    fake.seed(
      'RoleBinding',
      'production',
      { name: `leash-${orphan}` },
      { roleRef: { kind: 'ClusterRole', name: 'edit' } },
    );

    await eventually(
      () =>
        fake.get('ServiceAccount', 'production', `leash-${orphan}`) === undefined &&
        fake.get('ServiceAccount', 'production', `leash-${revokedLease}`) === undefined
          ? true
          : undefined,
      30_000,
    );
    expect(fake.get('RoleBinding', 'production', `leash-${orphan}`)).toBeUndefined();
    expect(fake.get('ServiceAccount', 'production', `leash-${fresh}`)).toBeDefined();
    expect(leaseObjects(liveLease).sort()).toEqual(['RoleBinding', 'ServiceAccount']);
    expect((await stack.call('GET', `/v1/leases/${liveLease}`, { token: agentToken })).body.state).toBe('active');

    const redis = stack.redis.client();
    const events = (await redis.xrange('{leash}:audit', '-', '+')).map(([, f]) => JSON.parse(f[1]));
    redis.disconnect();
    const swept = events.filter((e) => e.action === 'identity.swept');
    expect(swept).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ leaseId: orphan, details: expect.objectContaining({ reason: 'no lease recorded' }) }),
        expect.objectContaining({
          leaseId: revokedLease,
          details: expect.objectContaining({ reason: 'lease is revoked' }),
        }),
      ]),
    );
    await stack.call('DELETE', `/v1/leases/${liveLease}`, { token: agentToken });
  });

  it('a policy with a kubernetes role below the 600 s minimum is refused at start', async () => {
    const bad = LeashStack.start({
      name: 'k8s-badpolicy',
      worker: false,
      redis: stack.redis,
      env: { KUBECONFIG: kubeconfig },
      policy: (doc) => {
        const roles = doc.roles as Record<string, unknown>[];
        const role = roles.find((r) => r.id === ROLE) as Record<string, unknown>;
        role.minTtl = 300;
        return doc;
      },
    });
    await expect(bad).rejects.toThrow(/demo-k8s-deploy.*minTtl must be set to at least 600s/);
  });

  it('no issued token appears in the broker and worker logs or in Redis', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThanOrEqual(4);
    // The broker's own cluster credential (from its kubeconfig) must not leak either.
    stack.issuedSecrets.push(fake.brokerToken);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
