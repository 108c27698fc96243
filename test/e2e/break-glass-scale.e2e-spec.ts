import { RandomIdGenerator } from '@leash/core';
import { RedisStreamAuditLog } from '@leash/audit';
import { BreakGlassStore, RedisLeaseStore } from '@leash/leases';
import type { Redis } from 'ioredis';
import { LeashStack } from '../support/leash-stack';
import { approvedRequest, storeLeases } from '../support/store-leases';

// Break glass over more leases than its answer names, and a break glass whose process died halfway.
// Leases are written through the store as a claim writes them (request, claim intent, lease record),
// thousands at once, without minting a token each.
describe('break glass at scale: bounded answer, every lease revoked and audited, finished after a crash', () => {
  const PREFIX = '{leash}';
  const ids = new RandomIdGenerator();
  let stack: LeashStack;
  let client: Redis;
  let store: RedisLeaseStore;
  let runs: BreakGlassStore;
  let admin: string;

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'break-glass-scale' });
    client = stack.redis.client();
    store = new RedisLeaseStore(client, PREFIX, 3600);
    runs = new BreakGlassStore(client, PREFIX, 3600);
    admin = await stack.devToken({ subject: 'admin' });
  });

  afterAll(async () => {
    await store?.close();
    client?.disconnect();
    await stack?.stop();
  });

  const leases = (count: number, environment: string, principal: string, sessionId?: string): Promise<string[]> =>
    storeLeases(store, count, { environment, principal, ...(sessionId ? { sessionId } : {}) });

  /** The lease ids the `lease.revoked` events name: their own, or each of the leases a batch event names. */
  const named = (events: any[]): string[] =>
    events.flatMap((e) => (e.leases ? e.leases.map((l: { leaseId: string }) => l.leaseId) : [e.leaseId]));

  async function revocationsCounted(): Promise<number> {
    const text = await (await fetch(stack.metricsUrl)).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('leash_revocations_total{') &&
          l.includes('provider="jwt"') &&
          l.includes('reason="break_glass"'),
      );
    return line ? Number(line.split(' ').pop()) : 0;
  }

  async function states(leaseIds: string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (let i = 0; i < leaseIds.length; i += 500) {
      const pipeline = client.pipeline();
      leaseIds.slice(i, i + 500).forEach((id) => pipeline.hget(`${PREFIX}:lease:${id}`, 'state'));
      for (const [, state] of (await pipeline.exec()) ?? []) {
        counts.set(String(state), (counts.get(String(state)) ?? 0) + 1);
      }
    }
    return counts;
  }

  /** Every audit event of `action` since `from`, paged with the audit API's cursor. */
  async function auditEvents(action: string, from: string): Promise<any[]> {
    const events: any[] = [];
    let cursor: number | undefined;
    for (;;) {
      const q = new URLSearchParams({ action, from, limit: '1000', ...(cursor ? { cursor: String(cursor) } : {}) });
      const page = await stack.call('GET', `/v1/audit?${q.toString()}`, { token: admin });
      expect(page.status).toBe(200);
      events.push(...page.body.events);
      if (page.body.nextCursor === undefined) {
        return events;
      }
      cursor = page.body.nextCursor as number;
    }
  }

  it('revokes and audits every matching lease, counts them all and names a bounded sample', async () => {
    const staging = await leases(2400, 'staging', 'agent-scale-a', 'sess-scale-a');
    const production = await leases(100, 'production', 'agent-scale-b');
    const countedBefore = await revocationsCounted();

    const res = await stack.call('POST', '/v1/admin/revoke', {
      token: admin,
      body: { environment: 'staging', reason: 'break glass at scale' },
    });
    expect(res.status).toBe(200);
    expect(res.body.counts).toEqual({ revokedLeases: 2400, pendingLeases: 0, cancelledRequests: 0 });
    expect(res.body.truncated).toBe(true);
    expect(res.body.revokedLeases).toHaveLength(1000);
    expect(new Set(res.body.revokedLeases).size).toBe(1000);
    expect(staging).toEqual(expect.arrayContaining(res.body.revokedLeases));
    expect(res.body.id).toMatch(/^glass-[a-z2-7]{20}$/);

    // Every staging lease revoked, every production lease untouched and still in the expiry index.
    expect(await states(staging)).toEqual(new Map([['revoked', 2400]]));
    expect(await states(production)).toEqual(new Map([['active', 100]]));
    expect((await client.zrange(`${PREFIX}:leases:expiry`, '0', '-1')).sort()).toEqual([...production].sort());

    // The audit log names every revoked lease exactly once (what the bounded answer leaves out is paged there),
    // a batch of leases per event: each named with its request, session, principal, role and environment.
    const revoked = (await auditEvents('lease.revoked', res.body.startedAt)).filter(
      (e) => e.details.breakGlass === res.body.id,
    );
    expect(revoked.length).toBeLessThan(100);
    expect(named(revoked)).toHaveLength(2400);
    expect(new Set(named(revoked))).toEqual(new Set(staging));
    expect(revoked[0]).toMatchObject({
      actor: { id: 'admin' },
      environment: 'staging',
      provider: 'jwt',
      details: { reason: 'break_glass' },
    });
    const middle = staging[1234];
    const record = await store.getLease(middle);
    expect(revoked.flatMap((e) => e.leases).find((l) => l.leaseId === middle)).toEqual({
      leaseId: middle,
      requestId: record?.requestId,
      sessionId: 'sess-scale-a',
      principal: 'agent-scale-a',
      role: 'demo-staging-read',
      environment: 'staging',
      provider: 'jwt',
      providerRef: record?.providerRef,
    });
    // A lease's revocation is found by the filters an operator would use: its lease id, its request, its session.
    for (const filter of [`lease=${middle}`, `request=${record?.requestId}`, 'session=sess-scale-a']) {
      const page = await stack.call('GET', `/v1/audit?action=lease.revoked&${filter}`, { token: admin });
      expect(page.status).toBe(200);
      expect(named(page.body.events)).toContain(middle);
      expect(page.body.events[0]).toMatchObject({ details: { reason: 'break_glass', breakGlass: res.body.id } });
    }
    const otherLease = await stack.call('GET', `/v1/audit?action=lease.revoked&lease=${production[0]}`, {
      token: admin,
    });
    expect(otherLease.body.events).toEqual([]);
    // Each token's jti (= its lease id) is on the JWT denylist until a minute past its expiry.
    const sample = [staging[0], middle, staging[2399]];
    const until = await Promise.all(sample.map((id) => client.pexpiretime(`${PREFIX}:jwt:deny:${id}`)));
    const expiries = await Promise.all(sample.map(async (id) => (await store.getLease(id))?.expiresAt ?? 0));
    until.forEach((at, i) => expect(at).toBeGreaterThanOrEqual(expiries[i] + 60_000));
    // Each lease is one revocation in the metrics, as when revoked one by one.
    expect((await revocationsCounted()) - countedBefore).toBe(2400);
    const [summary] = (await auditEvents('admin.break_glass', res.body.startedAt)).filter(
      (e) => e.details.breakGlass === res.body.id,
    );
    expect(summary.details).toMatchObject({ revoked: 2400, pendingCount: 0, reason: 'break glass at scale' });
  }, 120_000);

  it('a break glass whose process died halfway is finished by the reconciler', async () => {
    const matching = await leases(3000, 'staging', 'agent-scale-c');
    const spared = await leases(50, 'staging', 'agent-scale-d');
    // What a broker that dies halfway leaves behind: the run recorded (its heartbeat deadline passed),
    // the fence raised, and the first batch of leases revoked.
    const startedAt = Date.now();
    const audit = new RedisStreamAuditLog(client, PREFIX);
    const run = {
      id: `glass-${ids.leaseId().slice(6)}`,
      selector: { principal: 'agent-scale-c' },
      reason: 'interrupted',
      actor: { id: 'admin', channel: 'api' as const },
      startedAt,
      resumed: 0,
      auditFrom: (await audit.head())?.seq ?? 0,
    };
    await runs.start(run, 'a-process-that-died', startedAt - 1);
    const first = await runs.batch(run.id, 'active', '0', 300, {
      selector: run.selector,
      recordOnly: ['jwt'],
      widerMeasure: [],
      now: startedAt,
      reason: 'break_glass',
    });
    expect(first.cursor).not.toBe('0');
    expect(first.revoked.length).toBeGreaterThan(0);
    expect(first.revoked.length).toBeLessThan(matching.length);
    // It had also written the audit event of some of them, and died before noting that they were audited.
    const auditedBeforeDying = first.revoked.slice(0, 100).map(({ lease }) => lease);
    expect(auditedBeforeDying).toHaveLength(100);
    await audit.append({
      actor: run.actor,
      action: 'lease.revoked',
      leases: auditedBeforeDying.map((l) => ({
        leaseId: l.id,
        requestId: l.requestId,
        principal: l.principal,
        role: l.role,
        environment: l.environment,
        provider: l.provider,
      })),
      details: { reason: 'break_glass', breakGlass: run.id, count: 100 },
    });

    // The worker's reconciler (every second here) takes the run over and finishes it.
    const deadline = Date.now() + 90_000;
    while ((await runs.get(run.id))?.state !== 'done' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await runs.get(run.id)).toMatchObject({ state: 'done', summary: { pendingLeases: 0 } });
    expect(await states(matching)).toEqual(new Map([['revoked', matching.length]]));
    expect(await states(spared)).toEqual(new Map([['active', spared.length]]));
    const [summary] = (await auditEvents('admin.break_glass', new Date(startedAt).toISOString())).filter(
      (e) => e.details.breakGlass === run.id,
    );
    expect(summary).toMatchObject({
      actor: { id: 'admin' },
      details: {
        resumed: 1,
        revoked: matching.length,
        selector: { principal: 'agent-scale-c' },
        reason: 'interrupted',
      },
    });
    // Every lease audited exactly once, those the dead process revoked but never audited included.
    const audited = (await auditEvents('lease.revoked', new Date(startedAt).toISOString())).filter(
      (e) => e.details.breakGlass === run.id,
    );
    expect(named(audited)).toHaveLength(matching.length);
    expect(new Set(named(audited))).toEqual(new Set(matching));
  }, 180_000);

  it('cancels every matching open request, walking the open-request index in batches; the answer names 1,000', async () => {
    /** `count` approved, unclaimed requests of `principal`, written through the store. */
    async function openRequests(count: number, principal: string, environment: string): Promise<string[]> {
      const out: string[] = [];
      for (let start = 0; start < count; start += 250) {
        const batch = Array.from({ length: Math.min(250, count - start) }, () => ids.requestId());
        const now = Date.now();
        await Promise.all(
          batch.map((id) =>
            store.createRequest(
              approvedRequest(id, { environment, principal, reason: 'open requests written through the store', now }),
            ),
          ),
        );
        out.push(...batch);
      }
      return out;
    }
    const mine = await openRequests(1_200, 'agent-scale-f', 'staging');
    const spared = await openRequests(20, 'agent-scale-g', 'staging');

    const res = await stack.call('POST', '/v1/admin/revoke', {
      token: admin,
      body: { principal: 'agent-scale-f', reason: 'open requests at scale' },
    });
    expect(res.status).toBe(200);
    expect(res.body.counts).toMatchObject({ cancelledRequests: 1_200 });
    expect(res.body.cancelledRequests).toHaveLength(1_000);
    expect(mine).toEqual(expect.arrayContaining(res.body.cancelledRequests));
    expect(res.body.truncated).toBe(true);
    const stateOf = async (id: string) => (await store.getRequest(id))?.request.state;
    expect(new Set(await Promise.all(mine.map(stateOf)))).toEqual(new Set(['cancelled']));
    expect(new Set(await Promise.all(spared.map(stateOf)))).toEqual(new Set(['approved']));
  }, 180_000);

  it("the worker's gauges count every active lease past 10,000, reading a bounded sample per scrape", async () => {
    /** leash_active_leases of one scrape, by environment. */
    async function activeGauge(): Promise<Map<string, number>> {
      const text = await (await fetch(stack.workerMetricsUrl)).text();
      const out = new Map<string, number>();
      for (const line of text.split('\n').filter((l) => l.startsWith('leash_active_leases{'))) {
        const env = /environment="([^"]*)"/.exec(line)?.[1] ?? '';
        out.set(env, (out.get(env) ?? 0) + Number(line.split(' ').pop()));
      }
      return out;
    }
    const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
    const before = await activeGauge();
    await leases(10_100, 'staging', 'agent-scale-e');

    await client.config('RESETSTAT');
    const after = await activeGauge();
    const stats = await client.info('commandstats');
    const calls = (cmd: string): number => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    // The total is exact (the index's size); the split by environment is estimated from the sample.
    expect(sum(after) - sum(before)).toBe(10_100);
    expect(after.get('staging')).toBeGreaterThan((before.get('staging') ?? 0) + 9_800);
    expect(after.get('staging')).toBeLessThanOrEqual(sum(after));
    // One scrape reads a bounded number of lease records (at most 2,000 by HMGET), not one hash per lease.
    expect(calls('hmget')).toBeLessThanOrEqual(2_500);
    expect(calls('hgetall')).toBeLessThan(1_000);
  }, 180_000);

  it('leaks no issued secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
