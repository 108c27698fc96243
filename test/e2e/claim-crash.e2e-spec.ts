import fc from 'fast-check';
import { FakeAws } from '../fakes/aws/fake-aws';
import { eventually } from '../support/eventually';
import { LeashStack } from '../support/leash-stack';

const BROKER = {
  accessKeyId: 'AKIALEASHBROKER00003',
  secretAccessKey: 'broker-secret-key-for-the-fake-0000000003',
  arn: 'arn:aws:iam::111122223333:user/leash-broker',
};
const CLAIMS = 300;
const ROUNDS = 3;
// Spread over a few roles so each role's deny list of one round stays within IAM's inline policy size.
const ROLES_PER_ROUND = 4;
const roleName = (round: number, k: number) => `leash-crash-r${round}-${k}`;

/**
 * kill -9 of the API in the middle of many concurrent claims (AWS, auto-approved): every STS
 * session the provider minted ends up a tracked lease or denied by SourceIdentity, and each
 * interrupted request answers "claim in progress" until the reconciler has recovered its dead
 * attempt, then can be claimed again.
 */
describe('crash-safe claims: kill -9 of the API mid-claim', () => {
  let fake: FakeAws;
  let stack: LeashStack;
  let agent: string;
  let admin: string;

  beforeAll(async () => {
    fake = await FakeAws.start(BROKER);
    const roles: Record<string, unknown>[] = [];
    fake.addRole({
      accountId: '111122223333',
      name: 'leash-crash-lost',
      maxSessionDuration: 3600,
      trusted: [BROKER.accessKeyId],
      allowSourceIdentity: true,
      allowTagSession: true,
    });
    roles.push({
      id: 'crash-lost',
      provider: 'aws',
      settings: { roleArn: 'arn:aws:iam::111122223333:role/leash-crash-lost', region: 'us-east-1' },
      environments: ['staging'],
      principals: [{ sub: 'agent-*' }],
      minTtl: '15m',
      maxTtl: '1h',
      approval: 'auto',
    });
    for (let round = 0; round < ROUNDS; round += 1) {
      for (let k = 0; k < ROLES_PER_ROUND; k += 1) {
        fake.addRole({
          accountId: '111122223333',
          name: roleName(round, k),
          maxSessionDuration: 3600,
          trusted: [BROKER.accessKeyId],
          allowSourceIdentity: true,
          allowTagSession: true,
        });
        roles.push({
          id: `crash-${round}-${k}`,
          provider: 'aws',
          settings: { roleArn: `arn:aws:iam::111122223333:role/${roleName(round, k)}`, region: 'us-east-1' },
          environments: ['staging'],
          principals: [{ sub: 'agent-*' }],
          minTtl: '15m',
          maxTtl: '1h',
          approval: 'auto',
        });
      }
    }
    stack = await LeashStack.start({
      name: 'claim-crash',
      env: {
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: BROKER.accessKeyId,
        AWS_SECRET_ACCESS_KEY: BROKER.secretAccessKey,
        AWS_ENDPOINT_URL_STS: fake.url,
        AWS_ENDPOINT_URL_IAM: fake.url,
        LEASH_QUARANTINE_RETRY_MS: '2000',
        LEASH_RATE_LIMIT_PER_MINUTE: '100000',
      },
      policy: (doc) => {
        (doc.roles as unknown[]).push(...roles);
        return doc;
      },
    });
    agent = await stack.devToken({ subject: 'agent-crash', owner: 'bob', ttlSeconds: 3600 });
    admin = await stack.devToken({ subject: 'admin', ttlSeconds: 3600 });
  }, 120_000);

  afterAll(async () => {
    fake.onMinted = undefined;
    await stack?.stop();
    await fake?.stop();
  });

  const claim = (id: string) => stack.call('POST', `/v1/requests/${id}/credentials`, { token: agent });

  async function createRequests(round: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < CLAIMS; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, CLAIMS - i) }, (_, j) =>
          stack.call('POST', '/v1/requests', {
            token: agent,
            body: {
              role: `crash-${round}-${(i + j) % ROLES_PER_ROUND}`,
              environment: 'staging',
              ttlSeconds: 900,
              reason: `crash round ${round} claim ${i + j}`,
            },
          }),
        ),
      );
      for (const created of batch) {
        expect(created.status).toBe(201);
        expect(created.body.state).toBe('approved');
        ids.push(created.body.id as string);
      }
    }
    return ids;
  }

  async function leaseState(leaseId: string): Promise<string | undefined> {
    const redis = stack.redis.client();
    try {
      return (await redis.hget(`{leash}:lease:${leaseId}`, 'state')) ?? undefined;
    } finally {
      redis.disconnect();
    }
  }

  async function requestState(id: string): Promise<string> {
    return (await stack.call('GET', `/v1/requests/${id}`, { token: agent })).body.state as string;
  }

  async function openIntents(): Promise<number> {
    const redis = stack.redis.client();
    try {
      return await redis.zcard('{leash}:claims');
    } finally {
      redis.disconnect();
    }
  }

  async function runRound(round: number, killAt: number): Promise<void> {
    const ids = await createRequests(round);
    const mintedBefore = fake.minted.length;
    const apiExit = stack.api.waitExit();
    fake.onMinted = (count) => {
      if (count - mintedBefore === killAt) {
        fake.onMinted = undefined;
        // Right after STS minted, before it answers: the claim that asked will never record its lease.
        process.kill(stack.api.pid!, 'SIGKILL');
      }
    };
    const answers = await Promise.all(ids.map((id) => claim(id).catch(() => undefined)));
    expect((await apiExit).signal).toBe('SIGKILL');
    const claimed = new Set(ids.filter((_, i) => answers[i]?.status === 201));
    const interrupted = ids.filter((id) => !claimed.has(id));
    expect(interrupted.length).toBeGreaterThan(0);

    await stack.api.start();
    // While the dead attempts are not yet known dead, their requests answer "claim in progress".
    const retries = await Promise.all(interrupted.map(async (id) => ({ id, res: await claim(id) })));
    const inProgress = retries.filter(({ res }) => res.body?.type === 'https://leash.dev/problems/claim-in-progress');
    for (const { res } of inProgress) {
      expect(res.status).toBe(409);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    for (const { id, res } of retries) {
      if (res.status === 409 && res.body.type === 'https://leash.dev/problems/already-claimed') {
        // Killed after the lease was recorded but before the answer left: issued, and its lease is tracked.
        const view = await stack.call('GET', `/v1/requests/${id}`, { token: agent });
        expect(view.body.state).toBe('issued');
        expect(await leaseState(view.body.leaseId as string)).toBe('active');
      } else if (res.status !== 201) {
        // Otherwise only "claim in progress", or a plain claim of a request the dead API had not taken yet.
        expect(res.body.type).toBe('https://leash.dev/problems/claim-in-progress');
      }
    }
    expect(inProgress.length).toBeGreaterThan(0);

    // The worker's reconciler finds the dead attempts, revokes what STS may have minted, frees the requests.
    const stuck = inProgress.map(({ id }) => id);
    const settled = await eventually(
      async () => {
        const states = await Promise.all(stuck.map((id) => requestState(id)));
        return states.every((state) => state !== 'issuing') && (await openIntents()) === 0 ? true : undefined;
      },
      120_000,
      500,
    ).catch(() => false);
    // Every STS session minted in this round is a tracked lease or denied by its SourceIdentity.
    const minted = fake.minted.slice(mintedBefore);
    expect(minted.length).toBeGreaterThanOrEqual(killAt);
    const untracked: string[] = [];
    let denied = 0;
    for (const session of minted) {
      const state = await leaseState(session.sourceIdentity!);
      if (state === 'active') {
        continue;
      }
      const policy = fake.inlinePolicy(session.roleName, 'leash-revoked-sessions') ?? '';
      if (fake.denies(session.accessKeyId) && policy.includes(session.sourceIdentity!)) {
        denied += 1;
      } else {
        untracked.push(`${session.sourceIdentity} (lease ${state ?? 'none'})`);
      }
    }
    expect(untracked).toEqual([]);
    expect(denied).toBeGreaterThan(0);
    console.log(
      `round ${round}: kill -9 at STS session ${killAt}; ${minted.length} sessions minted in the round (also by claims after ` +
        `the restart), ${minted.length - denied} tracked leases, ${denied} denied; ` +
        `${interrupted.length} claims unanswered, ${inProgress.length} then answered "claim in progress"`,
    );

    // Then the interrupted requests can be claimed again.
    expect(settled).toBe(true);
    const again = await Promise.all(stuck.map((id) => claim(id)));
    for (const res of again) {
      expect(res.status).toBe(201);
    }

    // Each recovery is audited with the identity it denied.
    const audit = await stack.call('GET', `/v1/audit?request=${stuck[0]}`, { token: admin });
    const recovered = (
      audit.body.events as { action: string; providerRef?: Record<string, string>; details?: any }[]
    ).filter((e) => e.action === 'claim.recovered');
    expect(recovered).toHaveLength(1);
    expect(recovered[0]).toMatchObject({ provider: 'aws', details: { outcome: 'denied', request: 'approved' } });
    expect(recovered[0].providerRef?.sourceIdentity).toMatch(/^lease-/);
  }

  it('a claim whose STS answer was lost answers 503, then "claim in progress" until recovered; what STS minted is denied', async () => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'crash-lost', environment: 'staging', ttlSeconds: 900, reason: 'the answer gets lost' },
    });
    expect(created.body.state).toBe('approved');
    const id = created.body.id as string;
    const before = fake.minted.length;
    // Every attempt of the SDK (it retries a reset connection) mints, then loses the answer.
    fake.hangUpAfterMint = 10;
    const failed = await claim(id);
    fake.hangUpAfterMint = 0;
    expect(failed.status).toBe(503);
    expect(failed.body).toMatchObject({ provider: 'aws', type: 'https://leash.dev/problems/unavailable' });
    const lost = fake.minted.slice(before);
    expect(lost.length).toBeGreaterThan(0);

    const during = await claim(id);
    expect(during.status).toBe(409);
    expect(during.body.type).toBe('https://leash.dev/problems/claim-in-progress');
    await eventually(async () => ((await requestState(id)) === 'approved' ? true : undefined), 120_000, 500);
    for (const session of lost) {
      expect(session.sourceIdentity).toBe(lost[0].sourceIdentity);
      expect(fake.denies(session.accessKeyId)).toBe(true);
    }
    const again = await claim(id);
    expect(again.status).toBe(201);
    expect(fake.denies(again.body.credential.accessKeyId as string)).toBe(false);
  }, 180_000);

  it(`every STS session minted before a kill -9 at a random point of ${CLAIMS} concurrent claims is tracked or denied`, async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.noBias(fc.integer({ min: 1, max: 250 })), async (killAt) => {
        await runRound(round, killAt);
        round += 1;
      }),
      { numRuns: ROUNDS, endOnFailure: true },
    );

    // The reconciler's recoveries are counted.
    const metrics = await (await fetch(stack.workerMetricsUrl)).text();
    expect(metrics).toMatch(/leash_claims_recovered_total\{[^}]*provider="aws"[^}]*outcome="denied"[^}]*\} [1-9]/);
    expect(await stack.leakedSecrets()).toEqual([]);
  }, 900_000);
});
