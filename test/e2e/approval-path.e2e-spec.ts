import { Redis } from 'ioredis';
import { LeashStack } from '../support/leash-stack';

const ROLE = 'quorum-two-write';

/**
 * The approval path as approvers and requesters see it, after it was made shorter (issue 19 target 4:
 * the decision lock and the read under it are one round trip, the approve answer is built from what
 * the approval script wrote instead of read back, and the two audit events are one append).
 */
describe('approval path: concurrent approvers, the approve answer, the audit trail', () => {
  let stack: LeashStack;
  let redis: Redis;
  let agent: string;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    stack = await LeashStack.start({
      name: 'approval-path',
      // A role that needs two different prod-approvers: the second approval completes the quorum.
      policy: (doc) => {
        const roles = doc.roles as Record<string, unknown>[];
        const base = roles.find((r) => r.id === 'demo-prod-write')!;
        return {
          ...doc,
          roles: [...roles, { ...base, id: ROLE, approval: { groups: [{ group: 'prod-approvers', quorum: 2 }] } }],
        };
      },
    });
    redis = new Redis(stack.redis.url, { lazyConnect: true });
    await redis.connect();
    agent = await stack.devToken({ subject: 'agent-approval-path' });
    alice = await stack.devToken({ subject: 'alice' });
    bob = await stack.devToken({ subject: 'bob' });
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
  });

  const create = async (ttlSeconds = 600) => {
    const res = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: ROLE, environment: 'production', ttlSeconds, reason: 'approval path e2e' },
    });
    expect({ status: res.status, state: res.body?.state }).toEqual({ status: 201, state: 'pending' });
    return res.body as { id: string };
  };
  const approve = (id: string, token: string, body: Record<string, unknown> = {}) =>
    stack.call('POST', `/v1/requests/${id}/approve`, { token, body });
  const read = async (id: string) => (await stack.call('GET', `/v1/requests/${id}`, { token: agent })).body;
  const auditActions = async (requestId: string) =>
    (await redis.xrange('{leash}:audit', '-', '+'))
      .map(([, f]) => JSON.parse(f[1]) as { action: string; requestId?: string })
      .filter((e) => e.requestId === requestId)
      .map((e) => e.action);

  it('two approvers at once on a request that needs both: it ends approved with both approvals, every time', async () => {
    // Both read the request with no approval; one decides first. The other must count the first one's
    // approval (read under the lock), or it records its own without completing the quorum and the
    // request stays pending with two approvals.
    const outcomes: { state: string; approvals: string[]; approvedEvents: number }[] = [];
    for (let i = 0; i < 12; i += 1) {
      const { id } = await create();
      const answers = await Promise.all([approve(id, alice), approve(id, bob)]);
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      const view = await read(id);
      outcomes.push({
        state: view.state,
        approvals: (view.approvals as { approver: string }[]).map((a) => a.approver).sort(),
        approvedEvents: (await auditActions(id)).filter((a) => a === 'request.approved').length,
      });
    }
    expect(outcomes.filter((o) => o.state !== 'approved')).toEqual([]);
    expect(outcomes.every((o) => o.approvals.join() === 'alice,bob' && o.approvedEvents === 1)).toBe(true);
  });

  it('the approve answer is the request as stored: after the first of two approvals, the completing one, a narrowing one', async () => {
    const { id } = await create();
    const first = await approve(id, alice, { comment: 'first' });
    expect(first.status).toBe(200);
    expect(first.body.state).toBe('pending');
    expect(first.body).toEqual(await read(id));

    const second = await approve(id, bob);
    expect(second.status).toBe(200);
    expect(second.body.state).toBe('approved');
    expect(second.body).toEqual(await read(id));

    // Narrowing: the TTL and digest change and earlier approvals stop counting.
    const narrowedRequest = await create(600);
    expect((await approve(narrowedRequest.id, alice)).status).toBe(200);
    const narrowing = await approve(narrowedRequest.id, bob, { ttlSeconds: 300 });
    expect(narrowing.status).toBe(200);
    expect(narrowing.body).toMatchObject({ state: 'pending', ttlSeconds: 300, narrowed: { by: 'bob' } });
    expect(narrowing.body).toEqual(await read(narrowedRequest.id));
    const completing = await approve(narrowedRequest.id, alice);
    expect(completing.body).toMatchObject({ state: 'approved', ttlSeconds: 300 });
    expect(completing.body).toEqual(await read(narrowedRequest.id));
  });

  it('the completing approval is audited as approval recorded, then approved, on one intact chain', async () => {
    const { id } = await create();
    await approve(id, alice);
    await approve(id, bob);
    expect(await auditActions(id)).toEqual([
      'request.created',
      'request.approval_recorded',
      'request.approval_recorded',
      'request.approved',
    ]);
    const admin = await stack.devToken({ subject: 'admin' });
    const verified = await stack.call('GET', '/v1/audit/verify', { token: admin });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ ok: true });
  });

  const longPoll = (id: string) => stack.call('GET', `/v1/requests/${id}?waitSeconds=30`, { token: agent });
  /** Gives the long-poll time to reach the broker and wait (if it has not, it reads the outcome: same answer). */
  const settle = () => new Promise((r) => setTimeout(r, 300));

  it('a long-poll answers the approval decided in this process with the request as stored', async () => {
    const { id } = await create();
    const poll = longPoll(id);
    await settle();
    // The first of two approvals does not end the wait; the completing one does.
    expect((await approve(id, alice)).status).toBe(200);
    let answered = false;
    void poll.then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false);
    expect((await approve(id, bob)).status).toBe(200);
    const res = await poll;
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('approved');
    expect(res.body).toEqual(await read(id));
  });

  it('a long-poll answers a denial, which it hears of through the store', async () => {
    const { id } = await create();
    const poll = longPoll(id);
    await settle();
    const denied = await stack.call('POST', `/v1/requests/${id}/deny`, { token: alice, body: { comment: 'no' } });
    expect(denied.status).toBe(200);
    const res = await poll;
    expect(res.body).toMatchObject({ state: 'denied', denial: { by: 'alice' } });
  });

  it('a refused decision (not an approver, unknown request) leaves no decision lock behind', async () => {
    const { id } = await create();
    const refused = await approve(id, agent);
    expect(refused.status).toBe(403);
    expect(await redis.exists(`{leash}:req:${id}:lock`)).toBe(0);
    const unknown = await approve('req-aaaaaaaaaaaaaaaaaaaa', alice);
    expect(unknown.status).toBe(404);
    expect(await redis.exists('{leash}:req:req-aaaaaaaaaaaaaaaaaaaa:lock')).toBe(0);
    expect((await approve(id, alice)).status).toBe(200);
  });

  it('the approved request is claimable, and no issued secret leaks into logs or Redis', async () => {
    const { id } = await create();
    await approve(id, alice);
    await approve(id, bob);
    const claimed = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agent });
    expect(claimed.status).toBe(201);
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
