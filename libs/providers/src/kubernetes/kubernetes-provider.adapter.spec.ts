import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthenticationV1Api, KubeConfig } from '@kubernetes/client-node';
import { FakeKubeApi } from '../../../../test/fakes/kubernetes/fake-kube-api';
import { writeBrokerKubeconfig } from '../../../../test/fakes/kubernetes/kubeconfig';
import type { IssueCommand } from '../credential-provider.port';
import { ProviderError } from '../provider.errors';
import { KubeClusterResolver } from './kube-cluster.adapter';
import { KubernetesProvider } from './kubernetes-provider.adapter';

const settings = {
  cluster: 'leash-demo',
  namespace: 'production',
  clusterRole: 'edit',
  audiences: ['https://kubernetes.default.svc'],
};

function command(overrides: Partial<IssueCommand> = {}): IssueCommand {
  const now = Date.now();
  return {
    leaseId: `lease-${Math.random().toString(36).slice(2, 12)}abcdefghij`.slice(0, 26),
    requestId: 'req-aaaaaaaaaaaaaaaaaaaa',
    role: { id: 'demo-k8s-deploy', settings },
    environment: 'production',
    principal: 'agent-k8s',
    owner: 'bob',
    sessionId: 'codex-7f3a',
    ttlSeconds: 900,
    issuedAt: now,
    expiresAt: now + 900_000,
    approval: { digest: 'ab'.repeat(32), approvers: ['alice', 'dave'], auto: false, policyVersion: 'demo-1' },
    ...overrides,
  };
}

describe('KubernetesProvider (real @kubernetes/client-node against the fake API server over TLS)', () => {
  let fake: FakeKubeApi;
  let dir: string;
  let sut: KubernetesProvider;
  let kubeconfig: string;

  beforeAll(async () => {
    fake = await new FakeKubeApi().start();
    dir = mkdtempSync(join(tmpdir(), 'leash-k8s-spec-'));
    kubeconfig = writeBrokerKubeconfig(join(dir, 'kubeconfig'), fake);
    sut = new KubernetesProvider(new KubeClusterResolver({ kubeconfigPaths: [join(dir, 'missing'), kubeconfig] }));
  });

  afterAll(async () => {
    await fake?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const reviewAs = async (token: string): Promise<boolean | undefined> => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const review = await kc.makeApiClient(AuthenticationV1Api).createTokenReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
    });
    return review.status?.authenticated;
  };

  it('issues a labelled ServiceAccount, RoleBinding and bound token; revoke deletes them and the token dies', async () => {
    const cmd = command();
    const issued = await sut.issue(cmd);
    const name = `leash-${cmd.leaseId}`;

    const sa = fake.get('ServiceAccount', 'production', name);
    expect(sa?.metadata.labels).toMatchObject({
      'leash.dev/lease': cmd.leaseId,
      'leash.dev/session': 'codex-7f3a',
      'leash.dev/environment': 'production',
    });
    expect(sa?.metadata.annotations).toMatchObject({
      'leash.dev/principal': 'agent-k8s',
      'leash.dev/request': 'req-aaaaaaaaaaaaaaaaaaaa',
      // The approval receipt: the approved request's digest prefix, next to its id.
      'leash.dev/approval': `sha256:${'ab'.repeat(8)}`,
    });
    const rb = fake.get('RoleBinding', 'production', name);
    expect(rb).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'ServiceAccount', name, namespace: 'production' }],
    });
    expect(rb?.metadata.ownerReferences[0]).toMatchObject({ kind: 'ServiceAccount', uid: sa?.metadata.uid });

    expect(issued.credential).toEqual({
      token: issued.secret,
      expirationTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      server: fake.url,
      namespace: 'production',
      certificateAuthorityData: Buffer.from(fake.caPem).toString('base64'),
    });
    expect(issued.expiresAt).toBeLessThanOrEqual(cmd.expiresAt);
    expect(JSON.stringify(issued.revocationHandle)).not.toContain(issued.secret);
    expect(await reviewAs(issued.secret)).toBe(true);

    await sut.revoke({ leaseId: cmd.leaseId, expiresAt: cmd.expiresAt, handle: issued.revocationHandle });
    expect(fake.get('ServiceAccount', 'production', name)).toBeUndefined();
    expect(fake.get('RoleBinding', 'production', name)).toBeUndefined();
    expect(await reviewAs(issued.secret)).toBe(false);

    // Idempotent: everything already gone (404) counts as done.
    await expect(
      sut.revoke({ leaseId: cmd.leaseId, expiresAt: cmd.expiresAt, handle: issued.revocationHandle }),
    ).resolves.toBeUndefined();
  });

  it('creates and deletes an inline Role when the role lists rules', async () => {
    const cmd = command({
      role: {
        id: 'inline',
        settings: {
          cluster: 'leash-demo',
          namespace: 'staging',
          rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
        },
      },
    });
    const issued = await sut.issue(cmd);
    const name = `leash-${cmd.leaseId}`;
    expect(fake.get('Role', 'staging', name)?.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
    ]);
    expect(fake.get('RoleBinding', 'staging', name)?.roleRef).toMatchObject({ kind: 'Role', name });
    await sut.revoke({ leaseId: cmd.leaseId, expiresAt: cmd.expiresAt, handle: issued.revocationHandle });
    expect(fake.list('Role', 'staging')).toHaveLength(0);
    expect(fake.list('RoleBinding', 'staging')).toHaveLength(0);
    expect(fake.list('ServiceAccount', 'staging')).toHaveLength(0);
  });

  it.each([
    ['the RoleBinding is refused (escalation)', { clusterRole: 'cluster-admin' }, undefined, 'permanent'],
    [
      'the inline Role is refused (escalation)',
      { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] },
      undefined,
      'permanent',
    ],
    ['the TokenRequest fails', { clusterRole: 'edit' }, 'token', 'retryable'],
    ['the RoleBinding create fails', { clusterRole: 'edit' }, 'rolebinding', 'retryable'],
  ])('leaves no object behind when %s', async (_label, binding, inject, kind) => {
    if (inject) {
      fake.failNext(inject, 500);
    }
    const cmd = command({ role: { id: 'r', settings: { cluster: 'leash-demo', namespace: 'halfway', ...binding } } });
    const err = await sut.issue(cmd).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).retryable).toBe(kind === 'retryable');
    for (const k of ['ServiceAccount', 'Role', 'RoleBinding'] as const) {
      expect(fake.list(k, 'halfway')).toHaveLength(0);
    }
  });

  it('refuses a TTL below the API server minimum at policy load, and bad settings with their field', () => {
    expect(sut.validateSettings(settings, { minTtl: 600, maxTtl: 3600 })).toEqual([]);
    expect(sut.validateSettings(settings, { minTtl: 300, maxTtl: 3600 })[0]).toMatch(
      /minTtl must be set to at least 600s/,
    );
    expect(sut.validateSettings(settings, { maxTtl: 3600 })[0]).toMatch(/minTtl/);
    expect(sut.validateSettings({ ...settings, role: 'x' }, { minTtl: 600, maxTtl: 3600 })).toEqual([
      'settings: set exactly one of clusterRole, role or rules',
    ]);
    expect(
      sut.validateSettings({ namespace: 'Prod!', clusterRole: 'edit', extra: 1 }, { minTtl: 600, maxTtl: 900 }),
    ).toEqual(
      expect.arrayContaining([expect.stringMatching(/^settings\.namespace: /), expect.stringMatching(/extra/)]),
    );
  });

  it('the fake, like the API server, refuses a TokenRequest under ten minutes', async () => {
    const cmd = command({ ttlSeconds: 599 });
    const err = (await sut.issue(cmd).catch((e: unknown) => e)) as ProviderError;
    expect(err.providerCode).toBe('Invalid');
    expect(err.message).toMatch(/may not specify a duration less than 10 minutes/);
    expect(
      fake.list('ServiceAccount', 'production').filter((s) => s.metadata.name === `leash-${cmd.leaseId}`),
    ).toHaveLength(0);
  });

  it('answers "not configured" for an unknown context and "unavailable" when the API server is down', async () => {
    const unknown = (await sut
      .issue(command({ role: { id: 'x', settings: { ...settings, cluster: 'nope' } } }))
      .catch((e: unknown) => e)) as ProviderError;
    expect(unknown.code).toBe('provider_not_configured');
    expect(unknown.message).toBe('kubeconfig context "nope" not found');

    const down = new FakeKubeApi();
    await down.start();
    const downConfig = writeBrokerKubeconfig(join(dir, 'down'), down);
    await down.stop();
    const offline = new KubernetesProvider(new KubeClusterResolver({ kubeconfigPaths: [downConfig] }));
    const err = (await offline.issue(command()).catch((e: unknown) => e)) as ProviderError;
    expect(err.retryable).toBe(true);
    expect(err.providerCode).toBe('Unreachable');
  });

  it('merges KUBECONFIG files the way kubectl does: the first file naming a context wins', async () => {
    const other = new FakeKubeApi();
    await other.start();
    try {
      const first = writeBrokerKubeconfig(join(dir, 'first'), other, 'leash-demo');
      const second = writeBrokerKubeconfig(join(dir, 'second'), fake, 'leash-demo');
      writeBrokerKubeconfig(join(dir, 'third'), fake, 'only-in-third');
      const resolver = new KubeClusterResolver({ kubeconfigPaths: [first, second, join(dir, 'third')] });
      expect(resolver.resolve('leash-demo').server).toBe(other.url);
      // Its context comes from the third file, but cluster "fake" was already named by the first.
      expect(resolver.resolve('only-in-third').server).toBe(other.url);
    } finally {
      await other.stop();
    }
  });

  it('lists lease ServiceAccounts where the roles point, skipping unreadable places', async () => {
    fake.seed('ServiceAccount', 'sweep', {
      name: 'leash-lease-orphanorphanorphanorph',
      labels: { 'leash.dev/lease': 'lease-orphanorphanorphanorph' },
    });
    fake.seed('ServiceAccount', 'sweep', { name: 'someone-else' });
    const { identities, problems } = await sut.listLeaseIdentities([
      { cluster: 'leash-demo', namespace: 'sweep', clusterRole: 'edit' },
      { cluster: 'gone', namespace: 'sweep', clusterRole: 'edit' },
    ]);
    expect(identities.map((i) => i.leaseId)).toEqual(['lease-orphanorphanorphanorph']);
    expect(problems).toEqual(['gone/sweep: kubeconfig context "gone" not found']);
  });
});
