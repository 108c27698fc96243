import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import { FakeAws } from '../fakes/aws/fake-aws';
import { LeashStack } from '../support/leash-stack';

const BROKER = {
  accessKeyId: 'AKIALEASHBROKER00001',
  secretAccessKey: 'broker-secret-key-for-the-fake-0000000001',
  arn: 'arn:aws:iam::111122223333:user/leash-broker',
};
const ROLE = 'leash-demo-deploy';
const POLICY = 'leash-revoked-sessions';
// The fake mints credentials as if STS had issued them 875 s ago (a skewed clock), so a 900 s
// credential really expires 25 s after the claim and the suite can watch the pruning.
const BACKDATE_MS = 875_000;

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met in ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface AwsCredential {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
}

const clientConfig = (fake: FakeAws, c: AwsCredential) => ({
  region: 'us-east-1',
  endpoint: fake.url,
  maxAttempts: 1,
  credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken },
});

describe('aws provider: STS AssumeRole per lease, early revocation by deny policy, pruning after expiry', () => {
  let fake: FakeAws;
  let stack: LeashStack;
  let agent: string;
  let approver: string;

  beforeAll(async () => {
    fake = await FakeAws.start(BROKER);
    fake.addRole({
      accountId: '111122223333',
      name: ROLE,
      maxSessionDuration: 3600,
      trusted: [BROKER.accessKeyId],
      allowSourceIdentity: true,
      allowTagSession: true,
    });
    fake.addRole({
      accountId: '111122223333',
      name: 'no-source-identity',
      maxSessionDuration: 3600,
      trusted: [BROKER.accessKeyId],
      allowSourceIdentity: false,
      allowTagSession: true,
    });
    fake.addRole({
      accountId: '111122223333',
      name: 'no-tag-session',
      maxSessionDuration: 3600,
      trusted: [BROKER.accessKeyId],
      allowSourceIdentity: true,
      allowTagSession: false,
    });
    stack = await LeashStack.start({
      name: 'aws',
      env: {
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: BROKER.accessKeyId,
        AWS_SECRET_ACCESS_KEY: BROKER.secretAccessKey,
        AWS_ENDPOINT_URL_STS: fake.url,
        AWS_ENDPOINT_URL_IAM: fake.url,
        LEASH_AWS_MAX_ATTEMPTS: '2',
      },
      policy: (doc) => {
        const roles = doc.roles as Record<string, unknown>[];
        roles.push({
          id: 'aws-untrusted',
          provider: 'aws',
          settings: { roleArn: 'arn:aws:iam::111122223333:role/no-source-identity', region: 'us-east-1' },
          environments: ['staging'],
          principals: [{ sub: 'agent-*' }],
          minTtl: '15m',
          maxTtl: '1h',
          approval: 'auto',
        });
        roles.push({
          id: 'aws-untagged',
          provider: 'aws',
          settings: { roleArn: 'arn:aws:iam::111122223333:role/no-tag-session', region: 'us-east-1' },
          environments: ['staging'],
          principals: [{ sub: 'agent-*' }],
          minTtl: '15m',
          maxTtl: '1h',
          approval: 'auto',
        });
        return doc;
      },
    });
    agent = await stack.devToken({ subject: 'agent-aws', owner: 'bob' });
    approver = await stack.devToken({ subject: 'alice' });
  });

  afterAll(async () => {
    await stack?.stop();
    await fake?.stop();
  });

  async function approvedRequest(token = agent, sessionId = 'sess-aws-1'): Promise<string> {
    const created = await stack.call('POST', '/v1/requests', {
      token,
      body: {
        role: 'demo-aws-deploy',
        environment: 'production',
        ttlSeconds: 900,
        reason: 'deploy the release',
        session: { id: sessionId },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: 'pending', decision: 'needs_approval' });
    const approved = await stack.call('POST', `/v1/requests/${created.body.id}/approve`, { token: approver, body: {} });
    expect(approved.status).toBe(200);
    return created.body.id as string;
  }

  it('claims STS credentials, revokes early through the deny policy (receipt: a denied call), prunes after expiry', async () => {
    fake.clockOffsetMs = -BACKDATE_MS;
    const id = await approvedRequest();
    const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agent });
    expect(claim.status).toBe(201);
    const credential = claim.body.credential as AwsCredential;
    expect(Object.keys(credential).sort()).toEqual(['accessKeyId', 'expiration', 'secretAccessKey', 'sessionToken']);
    const leaseId = claim.body.lease.id as string;
    expect(claim.body.lease.providerRef).toMatchObject({
      sourceIdentity: leaseId,
      accessKeyId: credential.accessKeyId,
    });

    // STS saw the lease's identity: session name, SourceIdentity, tags and the rendered session policy.
    const session = fake.sessions.get(credential.accessKeyId)!;
    expect(session.sessionName).toBe(`leash-${leaseId}`);
    expect(session.sourceIdentity).toBe(leaseId);
    // The approval receipt travels as session tags (CloudTrail logs them with the AssumeRole event): the request
    // id and the prefix of the digest alice approved; SourceIdentity stays the lease id.
    const approved = await stack.call('GET', `/v1/requests/${id}`, { token: agent });
    const digest = approved.body.digest as string;
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(session.tags).toEqual({
      'leash:principal': 'agent-aws',
      'leash:environment': 'production',
      'leash:session': 'sess-aws-1',
      'leash:request': id,
      'leash:approval': `sha256:${digest.slice(0, 16)}`,
    });
    expect(session.policy).toContain('arn:aws:s3:::leash-demo-production/*');

    // The credential works with the real SDK clients.
    const sts = new STSClient(clientConfig(fake, credential));
    const who = await sts.send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(`arn:aws:sts::111122223333:assumed-role/${ROLE}/leash-${leaseId}`);
    const iam = new IAMClient(clientConfig(fake, credential));
    await expect(iam.send(new ListRolesCommand({}))).resolves.toBeDefined();
    // The fake checks SigV4 like AWS: the key id and session token without the secret get nowhere.
    const forged = new STSClient(clientConfig(fake, { ...credential, secretAccessKey: 'x'.repeat(40) }));
    await expect(forged.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });

    const revoked = await stack.call('DELETE', `/v1/leases/${leaseId}`, { token: agent });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ state: 'revoked', revocation: { effect: 'denied' } });
    const deny = JSON.parse(fake.inlinePolicy(ROLE, POLICY)!) as { Statement: { Condition: unknown }[] };
    expect(JSON.stringify(deny.Statement)).toContain(leaseId);

    // The revocation receipt: the same credential is now refused.
    await expect(iam.send(new ListRolesCommand({}))).rejects.toMatchObject({ name: 'AccessDenied' });

    // Once the credential's own expiry has passed, the follow-up job prunes the id and, with
    // nothing left, deletes the policy.
    await waitFor(() => (fake.inlinePolicy(ROLE, POLICY) === undefined ? true : undefined), 90_000);
    await expect(iam.send(new ListRolesCommand({}))).rejects.toMatchObject({ name: 'ExpiredToken' });
    fake.clockOffsetMs = 0;
  }, 120_000);

  it('a provider outage fails the claim with 503 naming the provider code, leaves no lease, and the claim works after', async () => {
    const id = await approvedRequest();
    fake.fail(500, 'InternalFailure');
    const failed = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agent });
    expect(failed.status).toBe(503);
    expect(failed.headers.get('content-type')).toContain('application/problem+json');
    expect(failed.body).toMatchObject({ provider: 'aws', providerCode: 'InternalFailure' });
    expect(JSON.stringify(failed.body)).not.toMatch(/stack|at .*\.js/);
    const leases = await stack.call('GET', '/v1/leases?state=active', { token: agent });
    expect(leases.body.leases.filter((l: { requestId: string }) => l.requestId === id)).toEqual([]);

    fake.recover();
    const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agent });
    expect(claim.status).toBe(201);
  });

  it('a permanent refusal (trust policy lacks sts:SetSourceIdentity) is a 502 naming AccessDenied, no secret', async () => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'aws-untrusted', environment: 'staging', ttlSeconds: 900, reason: 'read' },
    });
    expect(created.status).toBe(201);
    const failed = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
    expect(failed.status).toBe(502);
    expect(failed.body).toMatchObject({ provider: 'aws', providerCode: 'AccessDenied' });
    expect(JSON.stringify(failed.body)).not.toContain(BROKER.secretAccessKey);
    const request = await stack.call('GET', `/v1/requests/${created.body.id}`, { token: agent });
    expect(request.body.state).toBe('approved');
  });

  it('session tags need sts:TagSession in the trust policy: without it the claim is a 502 naming it, no lease', async () => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'aws-untagged', environment: 'staging', ttlSeconds: 900, reason: 'read' },
    });
    expect(created.status).toBe(201);
    const failed = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
    expect(failed.status).toBe(502);
    expect(failed.body).toMatchObject({ provider: 'aws', providerCode: 'AccessDenied' });
    expect(failed.body.detail).toContain('sts:TagSession');
    const leases = await stack.call('GET', '/v1/leases', { token: agent });
    expect(leases.body.leases.filter((l: { requestId: string }) => l.requestId === created.body.id)).toEqual([]);
  });

  it('an IAM outage during early revocation is retried until the deny policy lands; nothing is lost', async () => {
    const id = await approvedRequest();
    const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agent });
    expect(claim.status).toBe(201);
    const leaseId = claim.body.lease.id as string;
    const iam = new IAMClient(clientConfig(fake, claim.body.credential as AwsCredential));

    fake.fail(503, 'ServiceUnavailable');
    const revoked = await stack.call('DELETE', `/v1/leases/${leaseId}`, { token: agent });
    expect(revoked.status).toBe(202);
    // Let the worker fail at least once more before the provider recovers.
    const failedBefore = fake.calls.filter((c) => c.status === 503).length;
    await waitFor(() => (fake.calls.filter((c) => c.status === 503).length > failedBefore ? true : undefined), 30_000);
    fake.recover();

    const lease = await waitFor(async () => {
      const got = await stack.call('GET', `/v1/leases/${leaseId}`, { token: agent });
      return got.body.state === 'revoked' ? got.body : undefined;
    }, 30_000);
    expect(lease.state).toBe('revoked');
    expect(fake.inlinePolicy(ROLE, POLICY)).toContain(leaseId);
    await expect(iam.send(new ListRolesCommand({}))).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('break glass: a role-wide aws:TokenIssueTime cut-off when the selection covers the role, per session otherwise', async () => {
    const admin = await stack.devToken({ subject: 'admin' });
    const other = await stack.devToken({ subject: 'agent-aws-2', owner: 'bob' });
    // A session belongs to the principal that registered it: the second agent runs its own session.
    const claimAs = async (token: string, sessionId: string) => {
      const id = await approvedRequest(token, sessionId);
      const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, { token });
      expect(claim.status).toBe(201);
      const credential = claim.body.credential as AwsCredential;
      return { leaseId: claim.body.lease.id as string, iam: new IAMClient(clientConfig(fake, credential)) };
    };
    const mine = await claimAs(agent, 'sess-aws-1');
    const theirs = await claimAs(other, 'sess-aws-2');
    await expect(mine.iam.send(new ListRolesCommand({}))).resolves.toBeDefined();
    await expect(theirs.iam.send(new ListRolesCommand({}))).resolves.toBeDefined();

    // One principal: other sessions of the role stay usable, so only that principal's SourceIdentity is denied.
    const narrow = await stack.call('POST', '/v1/admin/revoke', { token: admin, body: { principal: 'agent-aws-2' } });
    expect(narrow.status).toBe(200);
    expect(narrow.body).toMatchObject({ revokedLeases: [theirs.leaseId], measures: [] });
    await expect(theirs.iam.send(new ListRolesCommand({}))).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(mine.iam.send(new ListRolesCommand({}))).resolves.toBeDefined();
    expect(fake.inlinePolicy(ROLE, POLICY)).not.toContain('TokenIssueTime');

    // The whole role: one cut-off denies every session issued before now, whoever holds it.
    const wide = await stack.call('POST', '/v1/admin/revoke', {
      token: admin,
      body: { role: 'demo-aws-deploy', reason: 'role credentials exposed' },
    });
    expect(wide.status).toBe(200);
    expect(wide.body.revokedLeases).toContain(mine.leaseId);
    expect(wide.body.measures).toEqual([
      expect.objectContaining({
        provider: 'aws',
        kind: 'cut_off',
        note: expect.stringContaining('aws:TokenIssueTime'),
      }),
    ]);
    const deny = JSON.parse(fake.inlinePolicy(ROLE, POLICY)!) as {
      Statement: { Sid: string; Condition: Record<string, Record<string, string>> }[];
    };
    const cutoff = deny.Statement.find((st) => st.Sid.startsWith('LeashCutoffUntil'));
    expect(cutoff?.Condition.DateLessThan['aws:TokenIssueTime']).toMatch(/^\d{4}-\d\d-\d\dT/);
    await expect(mine.iam.send(new ListRolesCommand({}))).rejects.toMatchObject({ name: 'AccessDenied' });
    const lease = await stack.call('GET', `/v1/leases/${mine.leaseId}`, { token: admin });
    expect(lease.body.state).toBe('revoked');

    // A session issued after the cut-off works: the role itself is not disabled.
    await new Promise((r) => setTimeout(r, 1100));
    const fresh = await claimAs(agent, 'sess-aws-1');
    await expect(fresh.iam.send(new ListRolesCommand({}))).resolves.toBeDefined();
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});

describe('aws and gcp roles without cloud configuration', () => {
  let stack: LeashStack;

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'nocloud', worker: false });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  // No approval for the impossible: the request itself is refused, so no approver is asked for a claim that would fail.
  it('requests for gcp and aws roles fail with 503 provider-unavailable while the rest of the demo works', async () => {
    const agent = await stack.devToken({ subject: 'agent-nocloud' });
    const gcp = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-gcp-viewer', environment: 'staging', ttlSeconds: 600, reason: 'look' },
    });
    expect(gcp.status).toBe(503);
    expect(gcp.headers.get('content-type')).toContain('application/problem+json');
    expect(gcp.body).toMatchObject({ provider: 'gcp', type: expect.stringMatching(/provider-unavailable$/) });

    const aws = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-aws-deploy', environment: 'production', reason: 'deploy' },
    });
    expect(aws.status).toBe(503);
    expect(aws.body).toMatchObject({ provider: 'aws', type: expect.stringMatching(/provider-unavailable$/) });

    const jwt = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 60, reason: 'read' },
    });
    const jwtClaim = await stack.call('POST', `/v1/requests/${jwt.body.id}/credentials`, { token: agent });
    expect(jwtClaim.status).toBe(201);
  });
});

describe('the STS fake enforces the documented session tag rules (real SDK client)', () => {
  let fake: FakeAws;
  let sts: STSClient;

  beforeAll(async () => {
    fake = await FakeAws.start(BROKER);
    fake.addRole({
      accountId: '111122223333',
      name: ROLE,
      maxSessionDuration: 3600,
      trusted: [BROKER.accessKeyId],
      allowSourceIdentity: true,
      allowTagSession: true,
    });
    sts = new STSClient({
      region: 'us-east-1',
      endpoint: fake.url,
      maxAttempts: 1,
      credentials: { accessKeyId: BROKER.accessKeyId, secretAccessKey: BROKER.secretAccessKey },
    });
  });

  afterAll(async () => {
    await fake?.stop();
  });

  const assume = (Tags: { Key: string; Value: string }[]) =>
    sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::111122223333:role/${ROLE}`,
        RoleSessionName: 'leash-tag-rules',
        DurationSeconds: 900,
        SourceIdentity: 'lease-tag-rules',
        Tags,
      }),
    );
  const many = (n: number) => Array.from({ length: n }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));

  it.each([
    ['a key over 128 characters', [{ Key: 'k'.repeat(129), Value: 'v' }]],
    ['a value over 256 characters', [{ Key: 'k', Value: 'v'.repeat(257) }]],
    ['an empty key', [{ Key: '', Value: 'v' }]],
    ['a character outside [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@] in a key', [{ Key: 'leash;request', Value: 'v' }]],
    ['a character outside the set in a value', [{ Key: 'k', Value: 'alice (okta)' }]],
    ['the reserved aws: prefix', [{ Key: 'AWS:whatever', Value: 'v' }]],
    [
      'keys that differ only in case',
      [
        { Key: 'leash:request', Value: 'a' },
        { Key: 'Leash:Request', Value: 'b' },
      ],
    ],
    ['51 tags', many(51)],
  ])('refuses %s', async (_name, tags) => {
    await expect(assume(tags)).rejects.toMatchObject({ name: 'ValidationError' });
  });

  it('accepts 50 tags at the limits (128-character key, 256-character value, letters of any script) and records them', async () => {
    const tags = [...many(48), { Key: 'é'.repeat(128), Value: 'ü'.repeat(256) }, { Key: 'leash:approval', Value: '' }];
    const out = await assume(tags);
    expect(fake.sessions.get(out.Credentials!.AccessKeyId!)?.tags).toMatchObject({
      k0: 'v',
      ['é'.repeat(128)]: 'ü'.repeat(256),
      'leash:approval': '',
    });
  });
});
