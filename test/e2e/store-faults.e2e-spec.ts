import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { LeashStack } from '../support/leash-stack';
import { eventually } from '../support/eventually';
import { expectProblem } from '../support/expect-problem';

/** Value of an unlabelled gauge on a Prometheus endpoint. */
async function gauge(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(url)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('store faults: a wiped, misconfigured or full Redis is detected and fails closed', () => {
  let stack: LeashStack;
  let admin: string;
  let agent: string;
  const redisCli = (...args: string[]): string =>
    execFileSync('redis-cli', ['-p', String(stack.redis.port), ...args], { encoding: 'utf8' }).trim();

  beforeAll(async () => {
    // Persistence required (as in production): the suite's Redis runs with AOF.
    stack = await LeashStack.start({ name: 'store-faults', env: { LEASH_REQUIRE_PERSISTENCE: 'true' } });
    admin = await stack.devToken({ subject: 'admin' });
    agent = await stack.devToken({ subject: 'agent-store', owner: 'bob' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** Runs `during` while Redis is full (maxmemory 1 MB, once the API reports it), then gives the memory back. */
  async function whileRedisIsFull(during: () => Promise<void>): Promise<void> {
    redisCli('CONFIG', 'SET', 'maxmemory', '1mb');
    try {
      await eventually(
        async () => ((await gauge(stack.metricsUrl, 'leash_redis_oom')) === 1 ? true : undefined),
        20_000,
      );
      await during();
    } finally {
      redisCli('CONFIG', 'SET', 'maxmemory', '0');
    }
  }
  const introspect = async (token: string): Promise<boolean> => (await stack.introspect(token)).body.active as boolean;
  const ready = async () => stack.call('GET', '/readyz');

  async function claim(): Promise<{ status: number; body: any; headers: Headers }> {
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 600, reason: 'store faults' },
    });
    expect(created.status).toBe(201);
    return stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
  }

  it('is ready on a healthy, persistent, noeviction Redis', async () => {
    const res = await eventually(async () => ((await ready()).status === 200 ? ready() : undefined), 30_000, 250);
    expect(res.body.checks.store.status).toBe('up');
    expect(await gauge(stack.metricsUrl, 'leash_store_epoch_mismatch')).toBe(0);
    expect(await gauge(stack.workerMetricsUrl, 'leash_store_epoch_mismatch')).toBe(0);
    expect(await gauge(stack.metricsUrl, 'leash_redis_oom')).toBe(0);
  });

  it('refuses readiness, naming the setting, when eviction is allowed or persistence is off', async () => {
    redisCli('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      const res = await eventually(async () => {
        const r = await ready();
        return r.status === 503 ? r : undefined;
      }, 20_000);
      expect(JSON.stringify(res.body.checks.store.problems)).toContain('maxmemory-policy is allkeys-lru');
      await eventually(() => (/maxmemory-policy is allkeys-lru/.test(stack.worker.log) ? true : undefined), 20_000);
      // The worker's readiness (on its metrics port) names it too.
      const workerReady = await fetch(stack.workerMetricsUrl.replace(/\/metrics$/, '/readyz'));
      expect(workerReady.status).toBe(503);
      expect(JSON.stringify(await workerReady.json())).toContain('maxmemory-policy is allkeys-lru');
    } finally {
      redisCli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    }
    await eventually(async () => ((await ready()).status === 200 ? true : undefined), 20_000);

    redisCli('CONFIG', 'SET', 'appendonly', 'no');
    try {
      const res = await eventually(async () => {
        const r = await ready();
        return r.status === 503 ? r : undefined;
      }, 20_000);
      expect(JSON.stringify(res.body.checks.store.problems)).toContain('appendonly');
    } finally {
      redisCli('CONFIG', 'SET', 'appendonly', 'yes');
    }
    await eventually(async () => ((await ready()).status === 200 ? true : undefined), 30_000);
  });

  it('out of memory: readiness fails, leash_redis_oom is 1 and issuance answers 503', async () => {
    await whileRedisIsFull(async () => {
      expect(await gauge(stack.workerMetricsUrl, 'leash_redis_oom')).toBe(1);
      const r = await ready();
      expect(r.status).toBe(503);
      expect(JSON.stringify(r.body.checks.store.problems)).toContain('out of memory');
      // Creating the request needs a write too; either step fails closed with 503, never 500.
      const created = await stack.call('POST', '/v1/requests', {
        token: agent,
        body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 600, reason: 'oom' },
      });
      expectProblem(created, 503);
    });
    await eventually(async () => ((await ready()).status === 200 ? true : undefined), 20_000);
  });

  it('out of memory: early revocation and break glass answer 202 pending, are retried and recorded once Redis takes writes', async () => {
    const early = await claim();
    const glass = await claim();
    expect([early.status, glass.status]).toEqual([201, 201]);
    const [earlyId, glassId] = [early.body.lease.id as string, glass.body.lease.id as string];
    await whileRedisIsFull(async () => {
      // Redis refuses the write: the revocation is accepted as pending, not failed ("no credential was issued").
      const revoked = await stack.call('DELETE', `/v1/leases/${earlyId}`, { token: agent });
      expect(revoked.status).toBe(202);
      expect(revoked.headers.get('content-type')).toContain('application/problem+json');
      expect(revoked.body).toMatchObject({ type: 'https://leash.dev/problems/revocation-pending', status: 202 });
      expect(revoked.body.pendingLeases).toEqual([earlyId]);
      expect(revoked.body.detail).toMatch(/OOM/);
      const broken = await stack.call('POST', '/v1/admin/revoke', {
        token: admin,
        body: { principal: 'agent-store', environment: 'staging', reason: 'oom drill' },
      });
      expect(broken.status).toBe(202);
      expect(broken.body.type).toBe('https://leash.dev/problems/revocation-pending');
      expect(broken.body.pendingLeases).toEqual(expect.arrayContaining([earlyId, glassId]));
      // Inactive at once, although Redis still holds both leases as active.
      expect(await introspect(early.body.credential.token)).toBe(false);
      expect(await introspect(glass.body.credential.token)).toBe(false);
      expect(redisCli('HGET', `{leash}:lease:${glassId}`, 'state')).toBe('active');
      // Issuance still fails closed meanwhile.
      const created = await stack.call('POST', '/v1/requests', {
        token: agent,
        body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 600, reason: 'oom' },
      });
      expectProblem(created, 503);
    });
    // Memory back: both revocations are recorded and audited, as their callers asked for.
    const revokedLease = async (id: string) =>
      eventually(async () => {
        const l = await stack.call('GET', `/v1/leases/${id}`, { token: agent });
        return l.body.state === 'revoked' ? l.body : undefined;
      }, 30_000);
    expect((await revokedLease(earlyId)).revokeReason).toBe('early');
    expect((await revokedLease(glassId)).revokeReason).toBe('break_glass');
    const events = await eventually(async () => {
      const all = (await stack.call('GET', '/v1/audit?limit=1000', { token: admin })).body.events as any[];
      return all.some((e) => e.action === 'admin.break_glass') ? all : undefined;
    }, 30_000);
    const revocations = events.filter((e) => e.action === 'lease.revoked');
    expect(revocations.find((e) => e.leaseId === earlyId)).toMatchObject({ actor: { id: 'agent-store' } });
    expect(revocations.find((e) => e.leaseId === glassId)).toBeDefined();
    expect(await introspect(early.body.credential.token)).toBe(false);
    expect(await introspect(glass.body.credential.token)).toBe(false);
    await eventually(async () => ((await ready()).status === 200 ? true : undefined), 20_000);
  });

  it('out of memory: ending a session answers 202 pending; its leases are inactive at once and revoked once Redis takes writes', async () => {
    const session = `oom-session-${Date.now()}`;
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: {
        role: 'demo-staging-read',
        environment: 'staging',
        ttlSeconds: 600,
        reason: 'store faults session',
        session: { id: session },
      },
    });
    expect(created.status).toBe(201);
    const issued = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
    expect(issued.status).toBe(201);
    const leaseId = issued.body.lease.id as string;
    await whileRedisIsFull(async () => {
      const ended = await stack.call('DELETE', `/v1/sessions/${session}`, { token: agent });
      expect(ended.status).toBe(202);
      expect(ended.headers.get('content-type')).toContain('application/problem+json');
      expect(ended.body).toMatchObject({
        type: 'https://leash.dev/problems/revocation-pending',
        status: 202,
        sessionId: session,
        pendingLeases: [leaseId],
      });
      expect(await introspect(issued.body.credential.token)).toBe(false);
      expect(redisCli('HGET', `{leash}:lease:${leaseId}`, 'state')).toBe('active');
    });
    const lease = await eventually(async () => {
      const l = await stack.call('GET', `/v1/leases/${leaseId}`, { token: agent });
      return l.body.state === 'revoked' ? l.body : undefined;
    }, 30_000);
    expect(lease.revokeReason).toBe('session');
    const events = await eventually(async () => {
      const all = (await stack.call('GET', '/v1/audit?limit=1000', { token: admin })).body.events as any[];
      return all.some((e) => e.action === 'session.revoked' && e.sessionId === session) ? all : undefined;
    }, 30_000);
    expect(events.filter((e) => e.action === 'lease.revoked' && e.leaseId === leaseId)).toHaveLength(1);
    expect(await introspect(issued.body.credential.token)).toBe(false);
    await eventually(async () => ((await ready()).status === 200 ? true : undefined), 20_000);
  });

  it('out of memory: a revocation taken by one API replica is inactive at once on every other replica', async () => {
    // A second replica on the same Redis with the same keys and public URL (as a Deployment's pods have).
    const other = await LeashStack.start({
      name: 'store-faults-replica',
      redis: stack.redis,
      worker: false,
      env: {
        LEASH_REQUIRE_PERSISTENCE: 'true',
        LEASH_JWT_KEYS: join(stack.dir, 'jwt-keys.json'),
        LEASH_PUBLIC_URL: stack.url,
      },
    });
    try {
      const [early, kept] = [await claim(), await claim()];
      expect([early.status, kept.status]).toEqual([201, 201]);
      expect(await other.introspect(early.body.credential.token)).toMatchObject({ body: { active: true } });
      await whileRedisIsFull(async () => {
        const revoked = await stack.call('DELETE', `/v1/leases/${early.body.lease.id}`, { token: agent });
        expect(revoked.status).toBe(202);
        // The replica never saw the DELETE and Redis still says active; the announcement reached it.
        expect(redisCli('HGET', `{leash}:lease:${early.body.lease.id}`, 'state')).toBe('active');
        await eventually(async () => {
          const res = await other.introspect(early.body.credential.token);
          return res.status === 200 && res.body.active === false ? true : undefined;
        }, 10_000);
        expect((await other.introspect(kept.body.credential.token)).body.active).toBe(true);
      });
      await eventually(async () => {
        const l = await stack.call('GET', `/v1/leases/${early.body.lease.id}`, { token: agent });
        return l.body.state === 'revoked' ? true : undefined;
      }, 30_000);
      expect((await other.introspect(early.body.credential.token)).body.active).toBe(false);
      expect(await other.leakedSecrets()).toEqual([]);
    } finally {
      await other.stop();
    }
    await eventually(async () => ((await ready()).status === 200 ? true : undefined), 20_000);
  });

  it('after Redis is wiped: earlier tokens are inactive, readiness and issuance fail, store.reset links the chain', async () => {
    const kept = await claim();
    expect(kept.status).toBe(201);
    const revoked = await claim();
    expect(revoked.status).toBe(201);
    expect((await stack.call('DELETE', `/v1/leases/${revoked.body.lease.id}`, { token: agent })).status).toBe(200);
    expect(await introspect(kept.body.credential.token)).toBe(true);
    expect(await introspect(revoked.body.credential.token)).toBe(false);
    const before = (await stack.call('GET', '/v1/audit?limit=1000', { token: admin })).body.events as any[];
    const lastSeq = before[before.length - 1].seq as number;
    // Both processes probe Redis every second (LEASH_STORE_CHECK_MS): let them see the current head.
    await new Promise((r) => setTimeout(r, 2500));

    redisCli('FLUSHALL');

    // The allow-list: neither the live token nor the one revoked early comes back to life.
    expect(await introspect(kept.body.credential.token)).toBe(false);
    expect(await introspect(revoked.body.credential.token)).toBe(false);
    const notReady = await eventually(async () => {
      const r = await ready();
      return r.status === 503 && r.body.checks?.store?.status === 'down' ? r : undefined;
    }, 20_000);
    expect(JSON.stringify(notReady.body.checks.store.problems)).toContain('store epoch mismatch');
    await eventually(
      async () => ((await gauge(stack.metricsUrl, 'leash_store_epoch_mismatch')) === 1 ? 1 : undefined),
      10_000,
    );
    await eventually(
      async () => ((await gauge(stack.workerMetricsUrl, 'leash_store_epoch_mismatch')) === 1 ? 1 : undefined),
      10_000,
    );
    const errorLine = [stack.api.log, stack.worker.log]
      .join('\n')
      .split('\n')
      .find((l) => l.includes('redis store reset detected'));
    expect(errorLine).toMatch(/"level":("error"|50)/);
    expectProblem(await claim(), 503);

    const events = (await stack.call('GET', '/v1/audit?limit=1000', { token: admin })).body.events as any[];
    const reset = events.find((e) => e.action === 'store.reset');
    expect(reset).toBeDefined();
    // The new chain continues from the last head seen before the wipe instead of restarting at 1.
    expect(reset.seq).toBeGreaterThan(lastSeq);
    expect(reset.details.lastKnownHead).toMatch(new RegExp(`^${lastSeq}:`));
    expect((await stack.call('GET', '/v1/audit/verify', { token: admin })).body).toMatchObject({ ok: true });

    // The running worker puts its job schedulers (reconciler, …) back without a restart.
    await eventually(() => {
      const ids = redisCli('ZRANGE', '{leash}:bull:leash-maintenance:repeat', '0', '-1');
      return ids.includes('reconcile') ? ids : undefined;
    }, 30_000);

    // The operator acknowledges; everything becomes ready again and the acknowledgement is audited.
    redisCli('HSET', '{leash}:store:epoch', 'acknowledgedBy', 'oncall-alice');
    await eventually(async () => ((await ready()).status === 200 ? true : undefined), 20_000);
    expect(await gauge(stack.metricsUrl, 'leash_store_epoch_mismatch')).toBe(0);
    await eventually(async () => {
      const all = (await stack.call('GET', '/v1/audit?limit=1000', { token: admin })).body.events as any[];
      return all.find((e) => e.action === 'store.reset_acknowledged' && e.actor.id === 'oncall-alice');
    }, 10_000);
    expect((await claim()).status).toBe(201);
    // The earlier tokens stay inactive: nothing revived them.
    expect(await introspect(kept.body.credential.token)).toBe(false);
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
