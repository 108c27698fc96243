import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeIamCredentials, makeServiceAccountKey } from '../fakes/gcp/fake-iam-credentials';
import { FakeKubeApi } from '../fakes/kubernetes/fake-kube-api';
import { writeBrokerKubeconfig } from '../fakes/kubernetes/kubeconfig';
import { eventually } from '../support/eventually';
import { LeashStack } from '../support/leash-stack';

const BROKER_SA = 'leash-broker@leash-demo.iam.gserviceaccount.com';
const TARGET_SA = 'leash-crash@leash-demo.iam.gserviceaccount.com';
const IN_PROGRESS = 'https://leash.dev/problems/claim-in-progress';

/**
 * kill -9 of the API while the provider is minting, per provider: Kubernetes (the ServiceAccount
 * exists, the TokenRequest is in flight) → the reconciler deletes the ServiceAccount; GCP (the
 * token is minted after the API died) → recorded as unrecallable until its expiry. Both audited as
 * claim.recovered, and the request is claimable again.
 */
describe('crash-safe claims per provider: Kubernetes delete, GCP unrecallable', () => {
  let kube: FakeKubeApi;
  let gcp: FakeIamCredentials;
  let stack: LeashStack;
  let dir: string;
  let agent: string;
  let admin: string;

  beforeAll(async () => {
    kube = await new FakeKubeApi().start();
    gcp = await FakeIamCredentials.start();
    const key = makeServiceAccountKey(BROKER_SA, 'leash-demo');
    gcp.trustCaller(key);
    gcp.grantTokenCreator(TARGET_SA, BROKER_SA);
    dir = mkdtempSync(join(tmpdir(), 'leash-claim-crash-providers-'));
    const keyPath = join(dir, 'broker-key.json');
    writeFileSync(keyPath, JSON.stringify(key.keyFile), { mode: 0o600 });
    stack = await LeashStack.start({
      name: 'claim-crash-providers',
      env: {
        KUBECONFIG: writeBrokerKubeconfig(join(dir, 'broker-kubeconfig'), kube),
        GOOGLE_APPLICATION_CREDENTIALS: keyPath,
        LEASH_GCP_IAMCREDENTIALS_ENDPOINT: gcp.url,
      },
      policy: (doc) => {
        (doc.roles as unknown[]).push(
          {
            id: 'crash-k8s',
            provider: 'kubernetes',
            settings: {
              cluster: 'leash-demo',
              namespace: 'staging',
              clusterRole: 'view',
              audiences: ['https://kubernetes.default.svc'],
            },
            environments: ['staging'],
            principals: [{ sub: 'agent-*' }],
            minTtl: 600,
            maxTtl: 3600,
            approval: 'auto',
          },
          {
            id: 'crash-gcp',
            provider: 'gcp',
            settings: { serviceAccount: TARGET_SA, scopes: ['https://www.googleapis.com/auth/cloud-platform'] },
            environments: ['staging'],
            principals: [{ sub: 'agent-*' }],
            maxTtl: '1h',
            approval: 'auto',
          },
        );
        return doc;
      },
    });
    agent = await stack.devToken({ subject: 'agent-crash', owner: 'bob', ttlSeconds: 3600 });
    admin = await stack.devToken({ subject: 'admin', ttlSeconds: 3600 });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await kube?.stop();
    await gcp?.stop();
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const claim = (id: string) => stack.call('POST', `/v1/requests/${id}/credentials`, { token: agent });
  const state = async (id: string) =>
    (await stack.call('GET', `/v1/requests/${id}`, { token: agent })).body.state as string;

  async function approved(role: string, ttlSeconds: number): Promise<string> {
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role, environment: 'staging', ttlSeconds, reason: `crash while minting ${role}` },
    });
    expect(created.body.state).toBe('approved');
    return created.body.id as string;
  }

  /** kill -9 of the API while `inFlight` holds; the interrupted claim never answers. */
  async function killDuringClaim(id: string, inFlight: () => boolean): Promise<void> {
    const exited = stack.api.waitExit();
    const pending = claim(id).catch(() => undefined);
    await eventually(() => (inFlight() ? true : undefined), 30_000);
    process.kill(stack.api.pid!, 'SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
    expect(await pending).toBeUndefined();
  }

  async function recoveredEvent(id: string): Promise<any> {
    const audit = await stack.call('GET', `/v1/audit?request=${id}`, { token: admin });
    const events = (audit.body.events as { action: string }[]).filter((e) => e.action === 'claim.recovered');
    expect(events).toHaveLength(1);
    return events[0];
  }

  it('Kubernetes: the ServiceAccount of a claim killed mid-TokenRequest is deleted, audited, and the request claimable again', async () => {
    const id = await approved('crash-k8s', 600);
    const release = kube.holdTokenRequests();
    try {
      await killDuringClaim(id, () => kube.heldTokenRequests > 0);
    } finally {
      release();
    }
    const orphan = kube
      .list('ServiceAccount', 'staging')
      .find((sa) => /^leash-lease-/.test(sa.metadata.name as string));
    expect(orphan).toBeDefined();
    await stack.api.start();

    const during = await claim(id);
    expect(during.status).toBe(409);
    expect(during.body.type).toBe(IN_PROGRESS);
    expect(Number(during.headers.get('retry-after'))).toBeGreaterThan(0);

    await eventually(async () => ((await state(id)) === 'approved' ? true : undefined), 60_000, 250);
    expect(kube.get('ServiceAccount', 'staging', orphan!.metadata.name as string)).toBeUndefined();
    expect(kube.get('RoleBinding', 'staging', orphan!.metadata.name as string)).toBeUndefined();
    const event = await recoveredEvent(id);
    expect(event).toMatchObject({
      provider: 'kubernetes',
      providerRef: { serviceAccount: `staging/${orphan!.metadata.name as string}` },
      details: { outcome: 'recalled', request: 'approved' },
    });

    const again = await claim(id);
    expect(again.status).toBe(201);
    expect(again.body.lease.id).not.toBe(event.leaseId);
  }, 180_000);

  it('GCP: a token minted after the API died is recorded as unrecallable until its expiry, and the request claimable again', async () => {
    const id = await approved('crash-gcp', 900);
    const before = gcp.tokens.size;
    const release = gcp.hold();
    try {
      await killDuringClaim(id, () => gcp.heldCalls > 0);
    } finally {
      // STS-like: the provider finishes minting although nobody is there to receive the token.
      release();
    }
    await eventually(() => (gcp.tokens.size > before ? true : undefined), 30_000);
    const minted = [...gcp.tokens.values()].slice(before);
    expect(minted.map((t) => t.serviceAccount)).toEqual([TARGET_SA]);
    await stack.api.start();

    const during = await claim(id);
    expect(during.status).toBe(409);
    expect(during.body.type).toBe(IN_PROGRESS);

    await eventually(async () => ((await state(id)) === 'approved' ? true : undefined), 60_000, 250);
    const event = await recoveredEvent(id);
    expect(event).toMatchObject({
      provider: 'gcp',
      providerRef: { serviceAccount: TARGET_SA },
      details: { outcome: 'expires_by_itself', request: 'approved' },
    });
    // The recorded end covers the token that was minted.
    expect(Date.parse(event.details.until as string)).toBeGreaterThanOrEqual(minted[0].expireTime);

    const again = await claim(id);
    expect(again.status).toBe(201);
    const metrics = await (await fetch(stack.workerMetricsUrl)).text();
    expect(metrics).toMatch(/leash_claims_recovered_total\{[^}]*provider="gcp"[^}]*outcome="expires_by_itself"/);
    expect(metrics).toMatch(/leash_claims_recovered_total\{[^}]*provider="kubernetes"[^}]*outcome="recalled"/);
    expect(await stack.leakedSecrets()).toEqual([]);
  }, 180_000);
});
