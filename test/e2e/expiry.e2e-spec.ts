import { Queue } from 'bullmq';
import { LeashStack } from '../support/leash-stack';
import { RedisServer } from '../support/redis-server';
import { eventually } from '../support/eventually';

type Role = { id: string; approval: unknown };

describe('deadlines: approval timeout and claim window', () => {
  let stack: LeashStack;
  let agent: string;
  let approver: string;

  beforeAll(async () => {
    stack = await LeashStack.start({
      name: 'expiry',
      env: { LEASH_STALE_CLAIM_MS: '1000' },
      policy: (doc) => {
        for (const role of doc.roles as Role[]) {
          role.approval =
            role.id === 'demo-prod-write'
              ? { groups: ['prod-approvers'], quorum: 1, timeout: '2s', claimWindow: '2s' }
              : { auto: true, claimWindow: '2s' };
        }
        return doc;
      },
    });
    agent = await stack.devToken({ subject: 'agent-expiry' });
    approver = await stack.devToken({ subject: 'alice' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('expires a pending request after the approval timeout; it can no longer be approved', async () => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-prod-write', environment: 'production', reason: 'slow approvers' },
    });
    expect(created.body.state).toBe('pending');
    // The long-poll ends at the deadline with the request expired.
    const polled = await stack.call('GET', `/v1/requests/${created.body.id}?waitSeconds=10`, { token: agent });
    expect(polled.body.state).toBe('expired');
    const late = await stack.call('POST', `/v1/requests/${created.body.id}/approve`, { token: approver, body: {} });
    expect(late.status).toBe(409);
    const persisted = await eventually(async () => {
      const view = await stack.call('GET', `/v1/requests/${created.body.id}`, { token: agent });
      return view.body.state === 'expired' ? view.body : undefined;
    }, 10_000);
    expect(persisted.state).toBe('expired');
  });

  it('expires an approved request that is not claimed within the claim window', async () => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 60, reason: 'forgot to claim' },
    });
    expect(created.body.state).toBe('approved');
    await new Promise((r) => setTimeout(r, 2500));
    const claim = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
    expect(claim.status).toBe(409);
    expect(claim.body.type).toMatch(/expired$/);
    await eventually(async () => {
      const view = await stack.call('GET', `/v1/requests/${created.body.id}`, { token: agent });
      return view.body.state === 'expired' ? true : undefined;
    }, 10_000);
  });

  it('expires a claim interrupted mid-issue (the broker died after taking the claim lock) once its window has passed', async () => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 60, reason: 'claim then crash' },
    });
    expect(created.body.state).toBe('approved');
    const id = created.body.id as string;
    // What an API process leaves behind when it dies between taking the claim lock and recording the lease.
    const redis = stack.redis.client();
    try {
      expect(await redis.hget(`{leash}:req:${id}`, 'state')).toBe('approved');
      await redis.hset(`{leash}:req:${id}`, 'state', 'issuing');
    } finally {
      redis.disconnect();
    }
    const retry = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agent });
    expect(retry.status).toBe(409);

    // Past the claim window (2 s) plus LEASH_STALE_CLAIM_MS (1 s), the reconciler closes it and says why.
    const closed = await eventually(async () => {
      const view = await stack.call('GET', `/v1/requests/${id}`, { token: agent });
      return view.body.state === 'expired' ? view.body : undefined;
    }, 15_000);
    expect(closed).toMatchObject({ state: 'expired', closedReason: 'claim_interrupted' });
    const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agent });
    expect(claim.status).toBe(409);
    expect(claim.body.type).toMatch(/expired$/);

    // Requests behind it in the deadline index still expire on time.
    const next = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 60, reason: 'unclaimed after it' },
    });
    await eventually(async () => {
      const view = await stack.call('GET', `/v1/requests/${next.body.id}`, { token: agent });
      return view.body.state === 'expired' ? true : undefined;
    }, 10_000);
  });

  it('revokes at expiry, as expired, a lease whose revocation job ran early (timed on another offset to Redis TIME)', async () => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 10, reason: 'early job' },
    });
    const claim = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
    expect(claim.status).toBe(201);
    const leaseId = claim.body.lease.id as string;
    const queue = new Queue('leash-revocations', { connection: { url: stack.redis.url }, prefix: '{leash}:bull' });
    try {
      // The lease's delayed job (the claim's, or the hand-over's within 5 s of the expiry).
      const job = await eventually(async () => {
        const j = await queue.getJob(leaseId);
        return j && (await j.isDelayed()) ? j : undefined;
      }, 20_000);
      // A job runs before the expiry when whoever timed it measured a larger offset to Redis TIME than
      // the worker does when it runs (on a busy host the measurements move by tens of ms): run it now.
      await job.promote();
      const after = await eventually(async () => {
        const j = await queue.getJob(leaseId);
        if (!j) {
          return 'gone (completed without revoking)';
        }
        return j.processedOn && (await j.isDelayed()) ? 'delayed again' : undefined;
      }, 20_000);
      expect(after).toBe('delayed again');
    } finally {
      await queue.close();
    }
    // Without the job the reconciler would revoke it a reconcile period late, recorded as 'reconciler'.
    const lease = await eventually(async () => {
      const l = await stack.call('GET', `/v1/leases/${leaseId}`, { token: agent });
      return l.body?.state === 'revoked' ? l.body : undefined;
    }, 30_000);
    expect(lease.revokeReason).toBe('expired');
    expect(Date.parse(lease.revokedAt)).toBeGreaterThanOrEqual(Date.parse(lease.expiresAt));
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});

describe('a provider that refuses revocation', () => {
  let redis: RedisServer;
  let stack: LeashStack;

  beforeAll(async () => {
    redis = await RedisServer.start('redis-refuse');
    const admin = redis.client();
    // The worker's Redis user may not write the JWT denylist, so every jwt revocation fails like a provider outage.
    await admin.call(
      'ACL',
      'SETUSER',
      'worker',
      'on',
      '>worker-pw',
      '~{leash}:[^j]*',
      '%R~{leash}:jwt:*',
      '&*',
      '+@all',
    );
    admin.disconnect();
    stack = await LeashStack.start({
      name: 'refuse',
      redis,
      env: { LEASH_REVOKE_ATTEMPTS: '2', LEASH_REVOKE_BACKOFF_MS: '100', LEASH_QUARANTINE_RETRY_MS: '2000' },
      workerEnv: { LEASH_REDIS_URL: `redis://worker:worker-pw@127.0.0.1:${redis.port}` },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await redis?.stop();
  });

  it('retries, quarantines the lease as revocation_failed with a log line and an audit event, and revokes once the provider recovers', async () => {
    const agent = await stack.devToken({ subject: 'agent-refuse' });
    // Quarantined leases are an operators' list: an admin reads it (an approver of unrelated roles may not).
    const operator = await stack.devToken({ subject: 'admin' });
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 5, reason: 'refused revoke' },
    });
    const claim = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
    const leaseId = claim.body.lease.id as string;

    const failed = await eventually(async () => {
      const lease = await stack.call('GET', `/v1/leases/${leaseId}`, { token: agent });
      return lease.body.state === 'revocation_failed' ? lease.body : undefined;
    }, 20_000);
    expect(failed.lastError).toContain('DenylistUnavailable');
    const listed = await stack.call('GET', '/v1/leases?state=revocation_failed', { token: operator });
    expect(listed.body.leases.map((l: { id: string }) => l.id)).toContain(leaseId);
    expect(stack.worker.log).toContain('lease quarantined as revocation_failed');
    const admin = redis.client();
    const events = (await admin.xrange('{leash}:audit', '-', '+')).map(([, f]) => JSON.parse(f[1]));
    expect(events.filter((e) => e.leaseId === leaseId).map((e) => e.action)).toEqual(
      expect.arrayContaining(['lease.revoke_failed', 'lease.revocation_failed']),
    );

    // The provider recovers: the quarantined lease is retried and revoked, not forgotten.
    await admin.call('ACL', 'SETUSER', 'worker', '~*');
    admin.disconnect();
    await eventually(async () => {
      const lease = await stack.call('GET', `/v1/leases/${leaseId}`, { token: agent });
      return lease.body.state === 'revoked' ? true : undefined;
    }, 20_000);
  });
  it('leaks no issued secret into logs or Redis', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
