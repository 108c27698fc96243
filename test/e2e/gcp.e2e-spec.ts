import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeIamCredentials, makeServiceAccountKey } from '../fakes/gcp/fake-iam-credentials';
import { LeashStack } from '../support/leash-stack';

const BROKER_SA = 'leash-broker@leash-demo.iam.gserviceaccount.com';
const VIEWER_SA = 'leash-demo@leash-demo.iam.gserviceaccount.com';
const LONG_SA = 'leash-long@leash-demo.iam.gserviceaccount.com';
const UNGRANTED_SA = 'leash-other@leash-demo.iam.gserviceaccount.com';

describe('gcp provider: IAM Credentials generateAccessToken per lease', () => {
  let fake: FakeIamCredentials;
  let stack: LeashStack;
  let agent: string;
  let dir: string;

  beforeAll(async () => {
    fake = await FakeIamCredentials.start();
    const key = makeServiceAccountKey(BROKER_SA, 'leash-demo');
    fake.trustCaller(key);
    fake.grantTokenCreator(VIEWER_SA, BROKER_SA);
    fake.grantTokenCreator(LONG_SA, BROKER_SA);
    fake.tokenCreators.set(UNGRANTED_SA, []);
    dir = mkdtempSync(join(tmpdir(), 'leash-gcp-adc-'));
    const keyPath = join(dir, 'broker-key.json');
    writeFileSync(keyPath, JSON.stringify(key.keyFile), { mode: 0o600 });
    const role = (id: string, serviceAccount: string, maxTtl: string, extra: Record<string, unknown> = {}) => ({
      id,
      provider: 'gcp',
      settings: { serviceAccount, scopes: ['https://www.googleapis.com/auth/cloud-platform'], ...extra },
      environments: ['lab'],
      principals: [{ sub: 'agent-*' }],
      maxTtl,
      approval: 'auto',
    });
    stack = await LeashStack.start({
      name: 'gcp',
      env: {
        GOOGLE_APPLICATION_CREDENTIALS: keyPath,
        LEASH_GCP_IAMCREDENTIALS_ENDPOINT: fake.url,
      },
      policy: (doc) => {
        (doc.environments as Record<string, unknown>).lab = { tier: 'staging', maxTtl: '3h' };
        const roles = doc.roles as unknown[];
        // The org policy lists no account for longer lifetimes: the fake refuses above 3600 s.
        roles.push(role('gcp-long', LONG_SA, '2h', { allowExtendedLifetime: true }));
        roles.push(role('gcp-ungranted', UNGRANTED_SA, '1h'));
        return doc;
      },
    });
    agent = await stack.devToken({ subject: 'agent-gcp', owner: 'bob' });
  });

  afterAll(async () => {
    await stack?.stop();
    await fake?.stop();
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const claim = async (role: string, environment: string, ttlSeconds: number) => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role, environment, ttlSeconds, reason: 'inspect', session: { id: 'sess-gcp' } },
    });
    expect(created.status).toBe(201);
    const claimed = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
    return { id: created.body.id as string, ...claimed };
  };

  it('mints an access token with the lease TTL as lifetime; early revocation says it expires by itself', async () => {
    const before = Date.now();
    const res = await claim('demo-gcp-viewer', 'staging', 600);
    expect(res.status).toBe(201);
    const credential = res.body.credential as { accessToken: string; expireTime: string };
    expect(Object.keys(credential).sort()).toEqual(['accessToken', 'expireTime']);
    const minted = fake.tokens.get(credential.accessToken)!;
    expect(minted).toMatchObject({
      serviceAccount: VIEWER_SA,
      scopes: ['https://www.googleapis.com/auth/cloud-platform.read-only'],
    });
    expect(fake.calls.at(-1)).toMatchObject({ serviceAccount: VIEWER_SA, lifetime: '600s', status: 200 });
    const expire = Date.parse(credential.expireTime);
    expect(expire).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 600_000);
    expect(Date.parse(res.body.lease.expiresAt)).toBeLessThanOrEqual(expire);

    const revoked = await stack.call('DELETE', `/v1/leases/${res.body.lease.id}`, { token: agent });
    expect(revoked.status).toBe(200);
    expect(revoked.body.state).toBe('revoked');
    expect(revoked.body.revocation).toEqual({
      effect: 'expires_by_itself',
      note: expect.stringContaining(`expires by itself at ${new Date(expire).toISOString()}`),
    });
  });

  it('break glass ends gcp leases and says plainly that their tokens expire by themselves', async () => {
    const res = await claim('demo-gcp-viewer', 'staging', 600);
    expect(res.status).toBe(201);
    const admin = await stack.devToken({ subject: 'admin' });
    const glass = await stack.call('POST', '/v1/admin/revoke', { token: admin, body: { role: 'demo-gcp-viewer' } });
    expect(glass.status).toBe(200);
    expect(glass.body.revokedLeases).toEqual([res.body.lease.id]);
    expect(glass.body.measures).toEqual([
      {
        provider: 'gcp',
        kind: 'unrecallable',
        leases: 1,
        note: expect.stringContaining(`the last at ${res.body.lease.expiresAt}`),
      },
    ]);
  });

  it('refuses a TTL above the role maximum by policy, before any token is minted', async () => {
    const calls = fake.calls.length;
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-gcp-viewer', environment: 'staging', ttlSeconds: 7200, reason: 'too long' },
    });
    expect(created.status).toBe(403);
    expect(fake.calls.length).toBe(calls);
  });

  it('a lifetime the service refuses (no org-policy extension) is a 502 naming INVALID_ARGUMENT', async () => {
    const res = await claim('gcp-long', 'lab', 7200);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ provider: 'gcp', providerCode: 'INVALID_ARGUMENT' });
    const request = await stack.call('GET', `/v1/requests/${res.id}`, { token: agent });
    expect(request.body.state).toBe('approved');
  });

  it('a missing serviceAccountTokenCreator grant is a 502 naming PERMISSION_DENIED', async () => {
    const res = await claim('gcp-ungranted', 'lab', 600);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ provider: 'gcp', providerCode: 'PERMISSION_DENIED' });
  });

  it('an outage fails the claim with 503, leaves no lease, and the same request is claimable after', async () => {
    fake.fail(503);
    const res = await claim('demo-gcp-viewer', 'staging', 300);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ provider: 'gcp', providerCode: 'UNAVAILABLE' });
    const leases = await stack.call('GET', '/v1/leases', { token: agent });
    expect(leases.body.leases.filter((l: { requestId: string }) => l.requestId === res.id)).toEqual([]);
    fake.recover();
    const again = await stack.call('POST', `/v1/requests/${res.id}/credentials`, { token: agent });
    expect(again.status).toBe(201);
  });

  it('leaks no issued token into logs or Redis', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
