import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeAws } from '../fakes/aws/fake-aws';
import { FakeIamCredentials, makeServiceAccountKey } from '../fakes/gcp/fake-iam-credentials';
import { eventually } from '../support/eventually';
import { expectProblem } from '../support/expect-problem';
import { LeashStack } from '../support/leash-stack';

// The cloud client libraries (@google-cloud/iam-credentials, @aws-sdk/client-sts and client-iam) are loaded by the
// first call that needs them, not when the API and worker start (issue 19: start-up time). What a user would notice:
// a deployment whose install of one of them is broken still starts, reports that provider down, answers its claims
// with 503 problem+json and keeps issuing every other credential; once the library loads, the provider works on its
// first use without a restart. test/support/break-modules.js makes `require` of the listed packages fail (as a
// missing install does) while the list file exists.
const BROKER_SA = 'leash-broker@leash-demo.iam.gserviceaccount.com';
const VIEWER_SA = 'leash-demo@leash-demo.iam.gserviceaccount.com';
const AWS_BROKER = {
  accessKeyId: 'AKIALEASHBROKER00002',
  secretAccessKey: 'broker-secret-key-for-the-fake-0000000002',
  arn: 'arn:aws:iam::111122223333:user/leash-broker',
};
const BROKEN = ['@google-cloud/iam-credentials', '@aws-sdk/client-sts', '@aws-sdk/client-iam'];

describe('cloud client libraries loaded on first use: a broken one fails its claims with 503, not the process', () => {
  let gcp: FakeIamCredentials;
  let aws: FakeAws;
  let stack: LeashStack;
  let agent: string;
  let dir: string;
  let brokenFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-lazy-sdk-'));
    brokenFile = join(dir, 'broken-modules');
    writeFileSync(brokenFile, BROKEN.join('\n'));
    gcp = await FakeIamCredentials.start();
    const key = makeServiceAccountKey(BROKER_SA, 'leash-demo');
    gcp.trustCaller(key);
    gcp.grantTokenCreator(VIEWER_SA, BROKER_SA);
    const keyPath = join(dir, 'broker-key.json');
    writeFileSync(keyPath, JSON.stringify(key.keyFile), { mode: 0o600 });
    aws = await FakeAws.start(AWS_BROKER);
    aws.addRole({
      accountId: '111122223333',
      name: 'leash-lab',
      maxSessionDuration: 3600,
      trusted: [AWS_BROKER.accessKeyId],
      allowSourceIdentity: true,
      allowTagSession: true,
    });
    stack = await LeashStack.start({
      name: 'lazy-sdk',
      env: {
        NODE_OPTIONS: `--require ${join(__dirname, '..', 'support', 'break-modules.js')}`,
        LEASH_TEST_BROKEN_MODULES_FILE: brokenFile,
        GOOGLE_APPLICATION_CREDENTIALS: keyPath,
        LEASH_GCP_IAMCREDENTIALS_ENDPOINT: gcp.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: AWS_BROKER.accessKeyId,
        AWS_SECRET_ACCESS_KEY: AWS_BROKER.secretAccessKey,
        AWS_ENDPOINT_URL_STS: aws.url,
        AWS_ENDPOINT_URL_IAM: aws.url,
      },
      policy: (doc) => {
        (doc.roles as Record<string, unknown>[]).push({
          id: 'aws-lab',
          provider: 'aws',
          settings: { roleArn: 'arn:aws:iam::111122223333:role/leash-lab', region: 'us-east-1' },
          environments: ['staging'],
          principals: [{ sub: 'agent-*' }],
          minTtl: '15m',
          maxTtl: '1h',
          approval: 'auto',
        });
        return doc;
      },
    });
    agent = await stack.devToken({ subject: 'agent-lazy', owner: 'bob' });
  });

  afterAll(async () => {
    await stack?.stop();
    await gcp?.stop();
    await aws?.stop();
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const request = (role: string, ttlSeconds: number) =>
    stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role, environment: 'staging', ttlSeconds, reason: 'lazy sdk', session: { id: 'sess-lazy' } },
    });

  const issue = async (role: string, ttlSeconds: number) => {
    const created = await request(role, ttlSeconds);
    expect(created.status).toBe(201);
    return stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
  };

  it('starts and is ready while the cloud libraries cannot be loaded, reporting those providers down', async () => {
    // The first probe loads BullMQ and tries the cloud libraries: on a loaded machine it can time out once, as a
    // readiness probe may; it is asked again.
    const ready = await eventually(async () => {
      const res = await stack.call('GET', '/readyz');
      return res.status === 200 ? res : undefined;
    }, 30_000);
    const providers = ready.body.checks.providers as Record<string, string>;
    expect(providers.jwt).toBe('up');
    expect(providers.gcp).toMatch(/^down: .*client library could not be loaded/);
    expect(providers.aws).toMatch(/^down: .*client library could not be loaded/);
  });

  it('answers gcp and aws claims with 503 problem+json naming the provider, and keeps issuing jwt credentials', async () => {
    const minted = gcp.calls.length;
    for (const [role, provider] of [
      ['demo-gcp-viewer', 'gcp'],
      ['aws-lab', 'aws'],
    ] as const) {
      const refused = await request(role, 900);
      expectProblem(refused, 503);
      expect(refused.body).toMatchObject({ provider, providerState: 'down' });
      expect(refused.body.detail).toContain('client library could not be loaded');
    }
    expect(gcp.calls.length).toBe(minted);
    expect((await stack.call('GET', '/healthz')).status).toBe(200);
    const jwt = await issue('demo-staging-read', 300);
    expect(jwt.status).toBe(201);
    expect(jwt.body.credential.token).toEqual(expect.any(String));
  });

  it('loads a library once it can: gcp and aws claims work on first use, without a restart', async () => {
    rmSync(brokenFile);
    const token = await eventually(async () => {
      const res = await request('demo-gcp-viewer', 600);
      if (res.status !== 201) {
        return undefined; // the provider's "down" is remembered for about a second
      }
      const claim = await stack.call('POST', `/v1/requests/${res.body.id}/credentials`, { token: agent });
      expect(claim.status).toBe(201);
      return claim.body.credential.accessToken as string;
    }, 30_000);
    expect(gcp.tokens.get(token)).toMatchObject({ serviceAccount: VIEWER_SA });
    const awsClaim = await eventually(async () => {
      const res = await request('aws-lab', 900);
      if (res.status !== 201) {
        return undefined;
      }
      return stack.call('POST', `/v1/requests/${res.body.id}/credentials`, { token: agent });
    }, 30_000);
    expect(awsClaim.status).toBe(201);
    expect(awsClaim.body.credential.accessKeyId).toEqual(expect.any(String));
  });

  it('leaks no issued credential into logs or Redis', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
