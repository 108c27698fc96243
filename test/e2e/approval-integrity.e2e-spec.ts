import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parse, stringify } from 'yaml';
import { FakeIamCredentials, makeServiceAccountKey } from '../fakes/gcp/fake-iam-credentials';
import { FakeSlack } from '../fakes/slack/fake-slack';
import { LeashStack } from '../support/leash-stack';
import { TestIdp } from '../support/test-idp';
import type { ProcessHandle } from '../support/process-handle';

const BROKER_SA = 'leash-broker@leash-demo.iam.gserviceaccount.com';
const VIEWER_SA = 'leash-demo@leash-demo.iam.gserviceaccount.com';
const BOT_TOKEN = `xoxb-${randomBytes(12).toString('hex')}`;
const CHANNELS = { '#leash-approvals': 'C0APPROVALS' };

/** Retries an assertion until it holds; the bound is generous, not a measurement. */
async function eventually(check: () => unknown, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function waitForLog(handle: ProcessHandle, from: number, pattern: RegExp): Promise<void> {
  // Waits for an event in the process log, not for a duration; jest's timeout bounds it.
  while (!pattern.test(handle.log.slice(from))) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Approval integrity at the seams of time: what was approved is what is issued across a policy
 * reload (invariant 5), and a claim never outlives the end of its session or a break glass that
 * raced it (invariant 6). The GCP wire fake holds its answer so a claim sits in `issuing`.
 */
describe('approval integrity: policy reloads and claims racing the end of a session', () => {
  let gcp: FakeIamCredentials;
  let slack: FakeSlack;
  let idp: TestIdp;
  let stack: LeashStack;
  let redis: Redis;
  let dir: string;
  let agent: string;
  let alice: string;
  let admin: string;

  beforeAll(async () => {
    gcp = await FakeIamCredentials.start();
    const key = makeServiceAccountKey(BROKER_SA, 'leash-demo');
    gcp.trustCaller(key);
    gcp.grantTokenCreator(VIEWER_SA, BROKER_SA);
    slack = await FakeSlack.start(BOT_TOKEN, CHANNELS);
    dir = mkdtempSync(join(tmpdir(), 'leash-integrity-adc-'));
    const keyPath = join(dir, 'broker-key.json');
    writeFileSync(keyPath, JSON.stringify(key.keyFile), { mode: 0o600 });
    idp = await TestIdp.create();
    stack = await LeashStack.start({
      name: 'integrity',
      idp,
      env: {
        GOOGLE_APPLICATION_CREDENTIALS: keyPath,
        LEASH_GCP_IAMCREDENTIALS_ENDPOINT: gcp.url,
        LEASH_SLACK_BOT_TOKEN: BOT_TOKEN,
        LEASH_SLACK_SIGNING_SECRET: randomBytes(16).toString('hex'),
        LEASH_SLACK_CHANNEL: '#leash-approvals',
        LEASH_SLACK_API_URL: slack.url,
        LEASH_NOTIFY_BACKOFF_MS: '100',
        LEASH_RECONCILE_INTERVAL_MS: '500',
      },
    });
    redis = new Redis(stack.redis.url, { lazyConnect: true });
    await redis.connect();
    agent = await stack.devToken({ subject: 'agent-integrity', owner: 'bob' });
    alice = await stack.devToken({ subject: 'alice' });
    admin = await stack.devToken({ subject: 'admin' });
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
    await gcp?.stop();
    await slack?.stop();
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const create = async (role: string, environment: string, session?: string) => {
    const res = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: {
        role,
        environment,
        ttlSeconds: 600,
        reason: 'integrity e2e',
        ...(session ? { session: { id: session } } : {}),
      },
    });
    expect(res.status).toBe(201);
    return res.body as { id: string; state: string; digest: string };
  };
  const claim = (id: string) => stack.call('POST', `/v1/requests/${id}/credentials`, { token: agent });
  const auditActions = async (requestId: string) =>
    (await redis.xrange('{leash}:audit', '-', '+'))
      .map(([, f]) => JSON.parse(f[1]) as { action: string; requestId?: string })
      .filter((e) => e.requestId === requestId)
      .map((e) => e.action);

  describe('invariant 5: what was approved is what is issued, across a policy reload', () => {
    it('a reload that changes a role closes its pending and approved requests: claim 409 policy-changed, approvers told', async () => {
      const pending = await create('demo-prod-write', 'production');
      const approved = await create('demo-prod-write', 'production');
      const untouched = await create('demo-staging-read', 'staging');
      expect((await stack.call('POST', `/v1/requests/${approved.id}/approve`, { token: alice, body: {} })).status).toBe(
        200,
      );
      expect(untouched.state).toBe('approved');
      await eventually(() =>
        expect([...slack.messages.values()].filter((m) => JSON.stringify(m.blocks).includes(pending.id))).toHaveLength(
          1,
        ),
      );

      // Widen the role: admin scope and a longer TTL limit. Approvals given before must not cover it.
      const path = join(stack.dir, 'policy.yaml');
      const doc = parse(readFileSync(path, 'utf8')) as { roles: Record<string, any>[] };
      const write = doc.roles.find((r) => r.id === 'demo-prod-write')!;
      write.settings = { ...write.settings, scope: ['read', 'write', 'admin'] };
      const from = stack.api.log.length;
      writeFileSync(path, stringify(doc));
      stack.api.signal('SIGHUP');
      await waitForLog(stack.api, from, /policy reloaded/);

      const refused = await claim(approved.id);
      expect(refused.status).toBe(409);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(refused.body.type).toBe('https://leash.dev/problems/policy-changed');
      // The sweep of open requests runs after the reload is logged (and audited): wait for it, not for a time.
      await eventually(async () => {
        const closed = await stack.call('GET', `/v1/requests/${pending.id}`, { token: agent });
        expect(closed.body).toMatchObject({
          state: 'expired',
          closedReason: expect.stringContaining('policy changed'),
        });
      });
      expect((await claim(pending.id)).body.type).toBe('https://leash.dev/problems/policy-changed');
      // The decision is gone: approving the old request does nothing.
      expect((await stack.call('POST', `/v1/requests/${pending.id}/approve`, { token: alice, body: {} })).status).toBe(
        409,
      );
      // Requests of roles the reload did not touch are claimed as approved.
      const ok = await claim(untouched.id);
      expect(ok.status).toBe(201);
      expect(await auditActions(approved.id)).toContain('request.expired');
      expect(await auditActions(approved.id)).not.toContain('credential.issued');
      // The approvers' Slack message now says the request needs a new decision, and has no buttons.
      await eventually(() => {
        const message = [...slack.messages.values()].find((m) => JSON.stringify(m.blocks).includes(pending.id));
        expect(JSON.stringify(message?.blocks)).toContain('policy changed');
        expect(JSON.stringify(message?.blocks)).not.toContain('leash_approve');
      });

      // A new request under the new policy is decided and issued with the new settings.
      const again = await create('demo-prod-write', 'production');
      expect(again.digest).not.toBe(approved.digest);
      expect((await stack.call('POST', `/v1/requests/${again.id}/approve`, { token: alice, body: {} })).status).toBe(
        200,
      );
      const issued = await claim(again.id);
      expect(issued.status).toBe(201);
      const payload = JSON.parse(
        Buffer.from((issued.body.credential.token as string).split('.')[1], 'base64url').toString('utf8'),
      ) as { scope: unknown };
      expect(JSON.stringify(payload.scope)).toContain('admin');
    });
  });

  it('invariant 5: a replica whose policy defines the role differently refuses the claim (409 policy-changed), with no reload sweep', async () => {
    // A second broker on the same Redis, started with a widened role: it never reloaded, so only its claim check stands.
    const other = await LeashStack.start({
      name: 'integrity-b',
      idp,
      redis: stack.redis,
      worker: false,
      policy: (doc) => {
        const role = (doc.roles as Record<string, any>[]).find((r) => r.id === 'demo-staging-read')!;
        role.settings = { ...role.settings, scope: ['read', 'write'] };
        return doc;
      },
    });
    try {
      const token = await idp.token({ sub: 'agent-replica', owner: 'bob' });
      const created = await stack.call('POST', '/v1/requests', {
        token,
        body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 60, reason: 'two replicas' },
      });
      expect(created.body.state).toBe('approved');
      const refused = await other.call('POST', `/v1/requests/${created.body.id}/credentials`, { token });
      expect(refused.status).toBe(409);
      expect(refused.body.type).toBe('https://leash.dev/problems/policy-changed');
      const closed = await stack.call('GET', `/v1/requests/${created.body.id}`, { token });
      expect(closed.body).toMatchObject({ state: 'expired', closedReason: expect.stringContaining('policy changed') });
      expect(await other.leakedSecrets()).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  it('the approval that completes a quorum and the approved state are one write: no reader sees a met quorum on a pending request', async () => {
    // Redis publishes each request change; this watcher reads the request the moment it hears of it.
    // Before the fix the approval was written, the audit appended, then the state moved: a reader (the
    // API, the console, a crash) in that gap saw a full quorum on a request still pending.
    const watcher = new Redis(stack.redis.url, { lazyConnect: true });
    const reader = new Redis(stack.redis.url, { lazyConnect: true });
    await watcher.connect();
    await reader.connect();
    const seen: { id: string; state: string | null; approvals: number }[] = [];
    const ours = new Set<string>();
    const reads: Promise<void>[] = [];
    watcher.on('message', (_channel: string, id: string) => {
      if (!ours.has(id)) {
        return;
      }
      reads.push(
        reader
          .multi()
          .hget(`{leash}:req:${id}`, 'state')
          .hlen(`{leash}:req:${id}:approvals`)
          .exec()
          .then((r) => {
            seen.push({ id, state: r![0][1] as string | null, approvals: r![1][1] as number });
          }),
      );
    });
    try {
      await watcher.subscribe('{leash}:events:requests');
      for (let i = 0; i < 15; i += 1) {
        const request = await create('demo-prod-write', 'production');
        ours.add(request.id);
        const res = await stack.call('POST', `/v1/requests/${request.id}/approve`, { token: alice, body: {} });
        expect({ status: res.status, state: res.body.state }).toEqual({ status: 200, state: 'approved' });
      }
      await eventually(() => expect(seen.filter((s) => s.approvals > 0).length).toBeGreaterThanOrEqual(15));
      await Promise.all(reads);
      // demo-prod-write needs one approval: any approval recorded means approved.
      expect(seen.filter((s) => s.approvals > 0 && s.state === 'pending')).toEqual([]);
    } finally {
      watcher.disconnect();
      reader.disconnect();
    }
  });

  describe('invariant 6: a claim never outlives the end of its session', () => {
    const registerSession = async (id: string, idleSeconds = 120) => {
      const res = await stack.call('POST', '/v1/sessions', { token: agent, body: { id, idleSeconds } });
      expect(res.status).toBeLessThan(300);
    };
    const leasesOf = async (session: string) =>
      (await stack.call('GET', `/v1/leases?session=${session}`, { token: agent })).body.leases as {
        id: string;
        state: string;
      }[];

    /** Starts a claim that the GCP fake holds in `issuing`, ends the access with `end`, then releases it. */
    async function raceHeldClaim(session: string, end: () => Promise<void>) {
      const request = await create('demo-gcp-viewer', 'staging', session);
      const release = gcp.hold();
      try {
        const claimed = claim(request.id);
        await eventually(() => expect(gcp.heldCalls).toBe(1));
        expect((await stack.call('GET', `/v1/requests/${request.id}`, { token: agent })).body.state).toBe('issuing');
        await end();
        release();
        return { request, claimed: await claimed };
      } finally {
        release();
      }
    }

    it('DELETE /v1/sessions/:id while the claim is issuing: the lease ends revoked, the credential is not handed out', async () => {
      const session = 'sess-race-delete';
      await registerSession(session);
      const { claimed } = await raceHeldClaim(session, async () => {
        expect((await stack.call('DELETE', `/v1/sessions/${session}`, { token: agent })).status).toBe(200);
      });
      expect(claimed.status).toBe(409);
      expect(claimed.headers.get('content-type')).toContain('application/problem+json');
      expect(claimed.body.credential).toBeUndefined();
      const leases = await leasesOf(session);
      expect(leases).toHaveLength(1);
      await eventually(async () => expect((await leasesOf(session))[0].state).toBe('revoked'));
    });

    it('a session that goes idle while the claim is issuing: the lease ends revoked', async () => {
      const session = 'sess-race-idle';
      await registerSession(session, 2);
      const { claimed } = await raceHeldClaim(session, async () => {
        await eventually(async () => expect(await redis.hget(`{leash}:session:${session}`, 'state')).toBe('ended'));
      });
      expect(claimed.status).toBe(409);
      await eventually(async () => expect((await leasesOf(session)).map((l) => l.state)).toEqual(['revoked']));
    });

    it('break glass while the claim is issuing: the lease ends revoked', async () => {
      const session = 'sess-race-glass';
      const { claimed } = await raceHeldClaim(session, async () => {
        const glass = await stack.call('POST', '/v1/admin/revoke', {
          token: admin,
          body: { role: 'demo-gcp-viewer', reason: 'integrity drill' },
        });
        expect(glass.status).toBe(200);
      });
      expect(claimed.status).toBe(409);
      await eventually(async () => expect((await leasesOf(session)).map((l) => l.state)).toEqual(['revoked']));
      // A request made after the break glass is not affected by it.
      const later = await create('demo-gcp-viewer', 'staging', 'sess-after-glass');
      expect((await claim(later.id)).status).toBe(201);
    });

    it('randomised: claims racing session ends at random offsets never leave an active lease behind', async () => {
      const rounds = 25;
      let issued = 0;
      for (let i = 0; i < rounds; i += 1) {
        const session = `sess-loop-${i}`;
        const request = await create('demo-staging-read', 'staging', session);
        const delay = Math.floor(Math.random() * 40);
        const [claimed, ended] = await Promise.all([
          claim(request.id),
          new Promise((r) => setTimeout(r, delay)).then(() =>
            stack.call('DELETE', `/v1/sessions/${session}`, { token: agent }),
          ),
        ]);
        expect([200, 201, 409]).toContain(claimed.status);
        expect(ended.status).toBe(200);
        if (claimed.status === 201) {
          issued += 1;
        }
        // Whatever won, nothing of the ended session stays usable.
        await eventually(async () => {
          for (const lease of await leasesOf(session)) {
            expect(lease.state).toBe('revoked');
          }
        });
        if (claimed.status === 201) {
          const introspected = await stack.introspect(claimed.body.credential.token);
          expect(introspected.body.active).toBe(false);
        }
      }
      // Both orders happen (the loop is not degenerate), shown in the test output.
      process.stdout.write(`race loop: ${issued} of ${rounds} claims won before the session ended\n`);
    });
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
