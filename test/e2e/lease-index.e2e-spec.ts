import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { RedisLeaseStore, type LeaseCursor } from '@leash/leases';
import { LeashStack } from '../support/leash-stack';
import { storeLeases } from '../support/store-leases';

/**
 * The index of every lease (issue 19, target 2): a list in recording order whose oldest end is trimmed once
 * retention removed the records it names. Before, a sorted set by issue time that was never trimmed: the ids of
 * every lease ever issued stayed in Redis for good. Listing every lease pages over it with a cursor that stays
 * put while the index is trimmed and leases are issued and revoked between pages.
 */
describe('index of every lease: bounded by the records it names, every lease listed once across pages', () => {
  const PREFIX = '{leash}';
  let stack: LeashStack;
  let client: Redis;
  // Revoked leases of this store keep their records 1 s (retention), as the worker's would after LEASH_RETENTION_SECONDS.
  let store: RedisLeaseStore;
  let admin: string;

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'lease-index' });
    client = stack.redis.client();
    store = new RedisLeaseStore(client, PREFIX, 1);
    admin = await stack.devToken({ subject: 'admin' });
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    client?.disconnect();
    await stack?.stop();
  });

  async function revoke(s: RedisLeaseStore, ids: string[]): Promise<void> {
    for (const id of ids) {
      expect(await s.beginRevoke(id, 'early', Date.now())).toMatchObject({ ok: true });
      expect(await s.completeRevoke(id, Date.now())).toEqual({ ok: true });
    }
  }

  async function listAll(): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 100; i += 1) {
      const q = new URLSearchParams({ limit: '100', ...(cursor ? { cursor } : {}) });
      const res = await stack.call('GET', `/v1/leases?${q.toString()}`, { token: admin });
      expect(res.status).toBe(200);
      ids.push(...res.body.leases.map((l: { id: string }) => l.id));
      cursor = res.body.next;
      if (cursor === undefined) {
        return ids;
      }
    }
    throw new Error('the listing did not end within 100 pages');
  }

  async function eventually(check: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
    const until = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > until) {
        throw new Error(`timed out waiting for ${what}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('revoked leases leave the index when retention removes their records (the worker trims it); kept ones stay listed', async () => {
    const revoked = await storeLeases(store, 300, { environment: 'staging', principal: 'agent-index-a' });
    const kept = await storeLeases(store, 5, { environment: 'staging', principal: 'agent-index-b' });
    expect(await client.llen(`${PREFIX}:leases:recorded`)).toBe(305);
    await revoke(store, revoked);

    // Retention (1 s here) removes the revoked leases' records; the reconciler (every second) drops their entries.
    await eventually(async () => (await client.llen(`${PREFIX}:leases:recorded`)) === 5, 'the index to be trimmed');
    expect(await client.lrange(`${PREFIX}:leases:recorded`, 0, -1)).toEqual(kept);
    expect(await client.get(`${PREFIX}:leases:recorded:trimmed`)).toBe('300');
    expect(new Set(await listAll())).toEqual(new Set(kept));

    // Once the kept ones are revoked and their records gone too, the index is empty.
    await revoke(store, kept);
    await eventually(async () => (await client.exists(`${PREFIX}:leases:recorded`)) === 0, 'the index to empty');
    expect(await listAll()).toEqual([]);
    // Redis still knows Leash wrote data here (the store-health reset check reads it).
    expect(await client.get(`${PREFIX}:leases:recorded:trimmed`)).toBe('305');
  }, 120_000);

  it('an earlier version’s sorted set by issue time is still listed (after the list) and trimmed of records that are gone', async () => {
    const legacy = await storeLeases(store, 40, { environment: 'staging', principal: 'agent-index-c' });
    // As an earlier version indexed them: in the sorted set by issue time, not in the list.
    await client.del(`${PREFIX}:leases:recorded`);
    for (const [i, id] of legacy.entries()) {
      await client.zadd(`${PREFIX}:leases:all`, Date.now() - 60_000 + i, id);
    }
    const fresh = await storeLeases(store, 20, { environment: 'staging', principal: 'agent-index-c' });

    const listed = await listAll();
    expect(listed).toEqual([...fresh.slice().reverse(), ...legacy.slice().reverse()]);

    // A cursor of the earlier version (a score position in its set) still continues there.
    const oldCursor: LeaseCursor = { index: 'all', score: Number.MAX_SAFE_INTEGER, id: '' };
    const q = new URLSearchParams({
      limit: '10',
      cursor: Buffer.from(JSON.stringify(oldCursor)).toString('base64url'),
    });
    const res = await stack.call('GET', `/v1/leases?${q.toString()}`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.leases.map((l: { id: string }) => l.id)).toEqual(legacy.slice().reverse().slice(0, 10));

    await revoke(store, legacy.slice(0, 30));
    await eventually(
      async () => (await client.zcard(`${PREFIX}:leases:all`)) === 10,
      'the earlier sorted set to be trimmed',
    );
    expect(new Set(await client.zrange(`${PREFIX}:leases:all`, '0', '-1'))).toEqual(new Set(legacy.slice(30)));
    await revoke(store, [...legacy.slice(30), ...fresh]);
    await eventually(async () => (await client.exists(`${PREFIX}:leases:all`)) === 0, 'the earlier sorted set to go');
  }, 120_000);

  it('a walk lists every lease kept throughout exactly once while leases are issued, revoked and trimmed between pages (property)', async () => {
    let run = 0;
    const action = fc.oneof(
      fc.record({ kind: fc.constant('issue' as const), count: fc.integer({ min: 1, max: 12 }) }),
      fc.record({ kind: fc.constant('revoke' as const), pick: fc.array(fc.nat(), { maxLength: 6 }) }),
      // Retention passed for the oldest records (or for some anywhere), then the reconciler's trim.
      fc.record({ kind: fc.constant('expireOldest' as const), count: fc.integer({ min: 1, max: 15 }) }),
      fc.record({ kind: fc.constant('expireAny' as const), pick: fc.array(fc.nat(), { maxLength: 6 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 9 }),
        // Small scans: many pages, and many entries of one score in the earlier sorted set per page.
        fc.integer({ min: 1, max: 6 }),
        fc.array(action, { maxLength: 12 }),
        async (legacyCount, initial, limit, scan, actions) => {
          run += 1;
          const prefix = `{lease-index-${run}}`;
          const s = new RedisLeaseStore(client, prefix, 3600);
          try {
            const spec = { environment: 'staging', principal: 'agent-prop' };
            const legacy = await storeLeases(s, legacyCount, spec);
            if (legacy.length > 0) {
              await client.del(`${prefix}:leases:recorded`);
              await client.zadd(`${prefix}:leases:all`, ...legacy.flatMap((id, i) => [1_000 + (i % 7), id]));
            }
            const recorded = [...legacy, ...(await storeLeases(s, initial, spec))];
            const gone = new Set<string>();
            const atStart = recorded.slice();
            const listed: string[] = [];
            let cursor: LeaseCursor | undefined;
            let step = 0;
            for (let page = 0; page < 500; page += 1) {
              const result = await s.pageLeases({ limit }, cursor, scan);
              listed.push(...result.items.map((i) => i.lease.id));
              cursor = result.next;
              if (!cursor) {
                break;
              }
              const a = actions[step++ % Math.max(1, actions.length)];
              if (!a) {
                continue;
              }
              const live = recorded.filter((id) => !gone.has(id));
              if (a.kind === 'issue') {
                recorded.push(...(await storeLeases(s, a.count, spec)));
              } else if (a.kind === 'revoke') {
                for (const i of a.pick) {
                  const id = live[i % Math.max(1, live.length)];
                  if (id && (await s.getLease(id))?.state === 'active') {
                    await revoke(s, [id]);
                  }
                }
              } else {
                const oldest = [
                  ...(await client.zrange(`${prefix}:leases:all`, '0', '-1')),
                  ...(await client.lrange(`${prefix}:leases:recorded`, 0, -1)),
                ];
                const ids =
                  a.kind === 'expireOldest'
                    ? oldest.slice(0, a.count)
                    : a.pick.map((i) => live[i % Math.max(1, live.length)]).filter((id) => id !== undefined);
                for (const id of ids) {
                  // What Redis does when a record's retention passes.
                  await client.del(`${prefix}:lease:${id}`);
                  gone.add(id);
                }
                await s.trimLeaseIndex(10_000);
              }
            }
            expect(cursor).toBeUndefined();
            // Each lease once; none that was never recorded; every lease kept from start to end.
            expect(listed.length).toBe(new Set(listed).size);
            const known = new Set(recorded);
            expect(listed.filter((id) => !known.has(id))).toEqual([]);
            const listedSet = new Set(listed);
            expect(atStart.filter((id) => !gone.has(id) && !listedSet.has(id))).toEqual([]);
            // The index names no more than the records that are kept and the gone ones behind the oldest kept.
            const index = [
              ...(await client.zrange(`${prefix}:leases:all`, '0', '-1')),
              ...(await client.lrange(`${prefix}:leases:recorded`, 0, -1)),
            ];
            await s.trimLeaseIndex(10_000);
            const after = await client.lrange(`${prefix}:leases:recorded`, 0, -1);
            expect(after.length === 0 || !gone.has(after[0])).toBe(true);
            expect(index.length).toBeGreaterThanOrEqual(after.length);
          } finally {
            await s.close();
            const keys = await client.keys(`${prefix}:*`);
            if (keys.length > 0) {
              await client.del(...keys);
            }
          }
        },
      ),
      { numRuns: 40, examples: [[30, 0, 1, 1, []]] },
    );
  }, 300_000);

  it('leaks no issued secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
