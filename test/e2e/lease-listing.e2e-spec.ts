import { RedisLeaseStore } from '@leash/leases';
import type { Redis } from 'ioredis';
import { expectProblem } from '../support/expect-problem';
import { LeashStack } from '../support/leash-stack';
import { storeLeases } from '../support/store-leases';

// GET /v1/leases over thousands of leases: a cursor walks every lease exactly once, filters hold on
// every page, and each call reads a bounded number of lease records whatever the filters.
describe('GET /v1/leases: cursor pages over every lease, with filters, bounded work per call', () => {
  const PREFIX = '{leash}';
  let stack: LeashStack;
  let client: Redis;
  let store: RedisLeaseStore;
  let admin: string;
  let agent: string;
  const all = new Map<string, { environment: string; principal: string; state: string; session?: string }>();

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'lease-listing' });
    client = stack.redis.client();
    store = new RedisLeaseStore(client, PREFIX, 3600);
    admin = await stack.devToken({ subject: 'admin' });
    agent = await stack.devToken({ subject: 'agent-list-b' });
    // The agent's own leases carry its issuer, as a claim would record them.
    const issuer = (JSON.parse(Buffer.from(agent.split('.')[1], 'base64url').toString()) as { iss: string }).iss;
    const add = async (count: number, environment: string, principal: string, session?: string): Promise<void> => {
      for (const id of await storeLeases(store, count, { environment, principal, sessionId: session, issuer })) {
        all.set(id, { environment, principal, state: 'active', ...(session ? { session } : {}) });
      }
    };
    await add(2000, 'staging', 'agent-list-a');
    await add(30, 'production', 'agent-list-b');
    await add(300, 'staging', 'agent-list-b', 's-list-1');
    await add(15, 'production', 'agent-list-c');
    // Some revoked: they leave the expiry index but stay listed.
    for (const id of [...all.keys()].filter((_, i) => i % 10 === 0)) {
      await store.beginRevoke(id, 'early', Date.now());
      await store.completeRevoke(id, Date.now());
      all.get(id)!.state = 'revoked';
    }
  }, 300_000);

  afterAll(async () => {
    await store?.close();
    client?.disconnect();
    await stack?.stop();
  });

  const hgetalls = async (): Promise<number> =>
    Number(/cmdstat_hgetall:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0);

  /**
   * Every page of a listing: the ids in order, the page sizes, and the most hashes one call read
   * (lease records; a few more are the caller's session and rate keys, hence 1,010 below).
   */
  async function walk(
    token: string,
    query: Record<string, string>,
  ): Promise<{ ids: string[]; pages: number[]; maxReads: number }> {
    const ids: string[] = [];
    const pages: number[] = [];
    let maxReads = 0;
    let cursor: string | undefined;
    for (let i = 0; i < 100; i += 1) {
      const q = new URLSearchParams({ ...query, ...(cursor ? { cursor } : {}) });
      const before = await hgetalls();
      const res = await stack.call('GET', `/v1/leases?${q.toString()}`, { token });
      maxReads = Math.max(maxReads, (await hgetalls()) - before);
      expect(res.status).toBe(200);
      pages.push(res.body.leases.length);
      ids.push(...res.body.leases.map((l: { id: string }) => l.id));
      cursor = res.body.next;
      if (cursor === undefined) {
        return { ids, pages, maxReads };
      }
    }
    throw new Error('the listing did not end within 100 pages');
  }

  const expected = (
    keep: (l: { environment: string; principal: string; state: string; session?: string }) => boolean,
  ) => [...all].filter(([, l]) => keep(l)).map(([id]) => id);

  it('an admin pages through every lease exactly once, newest first, each page at most `limit`', async () => {
    const { ids, pages, maxReads } = await walk(admin, { limit: '200' });
    expect(ids).toHaveLength(all.size);
    expect(new Set(ids)).toEqual(new Set(all.keys()));
    expect(Math.max(...pages)).toBe(200);
    expect(maxReads).toBeLessThanOrEqual(1010);
    // Newest first across pages, as documented (openapi): by recording order. Leases recorded concurrently may be
    // recorded in another order than their issue times (e.g. the first calls after Redis lost its script cache are
    // sent again as EVAL), so the order checked is Redis' own record of it.
    expect(ids).toEqual((await client.lrange(`${PREFIX}:leases:recorded`, 0, -1)).reverse());
  });

  it('keeps the filters on every page, reading at most 1,000 lease records per call even when few match', async () => {
    const production = await walk(admin, { environment: 'production', limit: '10' });
    expect(new Set(production.ids)).toEqual(new Set(expected((l) => l.environment === 'production')));
    expect(production.ids).toHaveLength(45);
    expect(production.maxReads).toBeLessThanOrEqual(1010);
    expect(production.pages.length).toBeGreaterThan(2);

    const active = await walk(admin, { state: 'active', environment: 'staging', limit: '500' });
    expect(new Set(active.ids)).toEqual(new Set(expected((l) => l.state === 'active' && l.environment === 'staging')));
    expect(active.ids.length).toBe(active.ids.length && new Set(active.ids).size);
    expect(active.maxReads).toBeLessThanOrEqual(1010);

    const revoked = await walk(admin, { state: 'revoked', limit: '500' });
    expect(new Set(revoked.ids)).toEqual(new Set(expected((l) => l.state === 'revoked')));

    const session = await walk(admin, { session: 's-list-1', limit: '50' });
    expect(session.ids).toHaveLength(300);
    expect(new Set(session.ids)).toEqual(new Set(expected((l) => l.session === 's-list-1')));
  });

  it('a requester pages through its own leases only, however many others there are', async () => {
    const own = await walk(agent, { limit: '100' });
    expect(new Set(own.ids)).toEqual(new Set(expected((l) => l.principal === 'agent-list-b')));
    expect(own.ids).toHaveLength(330);
    expect(own.maxReads).toBeLessThanOrEqual(1010);
  });

  it('refuses a forged, malformed or foreign cursor with 400 problem+json', async () => {
    const first = await stack.call('GET', '/v1/leases?limit=5', { token: admin });
    const next = first.body.next as string;
    expect(next).toMatch(/^[A-Za-z0-9_-]+$/);
    // A cursor of one listing is not valid for another (other filters walk another index).
    expectProblem(
      await stack.call('GET', `/v1/leases?state=active&cursor=${next}`, { token: admin }),
      400,
      /validation$/,
    );
    for (const bad of [
      'not-a-cursor',
      Buffer.from('{"index":"all","score":"x","id":1}').toString('base64url'),
      Buffer.from('{"index":"session","pos":1.5}').toString('base64url'),
      'x'.repeat(401),
    ]) {
      const res = await stack.call('GET', `/v1/leases?cursor=${bad}`, { token: admin });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    expectProblem(await stack.call('GET', '/v1/leases?cursor=a%2Fb', { token: admin }), 400, /validation$/);
    expect((await stack.call('GET', '/readyz')).status).toBe(200);
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
