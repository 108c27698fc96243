import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { FakeSlack } from '../fakes/slack/fake-slack';
import { ConsoleSession, SlackClicker } from '../support/approver-channels';
import { eventually } from '../support/eventually';
import { LeashStack } from '../support/leash-stack';
import { TestIdp } from '../support/test-idp';

// One person counts once across channels and issuers (issue 13, invariants 1-4 and 7). The policy's first
// issuer is the development issuer (the default human issuer); the test IdP is a second trusted issuer.

const BOT_TOKEN = `xoxb-${randomBytes(12).toString('hex')}`;
const SIGNING_SECRET = randomBytes(16).toString('hex');

const GROUPS = {
  'prod-approvers': {
    members: [
      { sub: 'alice', email: 'alice@example.com', slack: 'U0ALICE' },
      { sub: 'bob', slack: 'U0BOB' },
      { sub: 'carol', slack: 'U0CAROL' },
    ],
    idpGroups: ['prod-approvers'],
  },
  // bob again, by email and the same Slack id: one person with both identifiers.
  security: {
    members: [
      { email: 'bob@example.com', slack: 'U0BOB' },
      { sub: 'erin', email: 'erin@example.com', slack: 'U0ERIN' },
    ],
  },
  // erin again by another spelling of her email; dave is in sre by his token's groups only.
  sre: { members: [{ sub: 'carol' }, { email: ' Erin@Example.COM ' }], idpGroups: ['sre'] },
  observers: { members: [{ sub: 'olga', slack: 'U0OLGA' }] },
  'ci-reviewers': { members: [{ sub: 'robot', issuer: 'test-idp' }] },
  'leash-admins': { members: [{ sub: 'admin' }], idpGroups: ['leash-admins'] },
};

const jwtRole = (id: string, approval: unknown) => ({
  id,
  provider: 'jwt',
  settings: { audience: 'model-api', scope: ['write'] },
  environments: ['production'],
  principals: [{ sub: 'agent-*' }, { sub: 'carol' }],
  privilege: 'write',
  minTtl: '5s',
  maxTtl: '1h',
  approval,
});

describe('identity: one person counts once across channels; principals are bound to their issuer', () => {
  let slack: FakeSlack;
  let idp: TestIdp;
  let stack: LeashStack;
  let clicker: SlackClicker;
  let admin: string;

  beforeAll(async () => {
    slack = await FakeSlack.start(BOT_TOKEN, { '#leash-approvals': 'C0APPROVALS' });
    idp = await TestIdp.create();
    stack = await LeashStack.start({
      name: 'identity',
      idp,
      env: {
        LEASH_SLACK_BOT_TOKEN: BOT_TOKEN,
        LEASH_SLACK_SIGNING_SECRET: SIGNING_SECRET,
        LEASH_SLACK_CHANNEL: '#leash-approvals',
        LEASH_SLACK_API_URL: slack.url,
        LEASH_NOTIFY_BACKOFF_MS: '100',
        LEASH_NOTIFY_ATTEMPTS: '10',
      },
      policy: (doc) => {
        // Keep the demo's resource-server group: the policy's introspection section names it.
        doc.approverGroups = { ...GROUPS, 'resource-servers': (doc.approverGroups as Record<string, unknown>)['resource-servers'] };
        (doc.roles as unknown[]).push(
          jwtRole('model-one', { groups: ['prod-approvers'] }),
          jwtRole('model-two', { groups: [{ group: 'prod-approvers', quorum: 2 }] }),
          jwtRole('model-and', { groups: [{ group: 'security' }, { group: 'sre' }] }),
          jwtRole('model-ci', { groups: ['ci-reviewers'] }),
          jwtRole('model-mfa', { groups: ['prod-approvers'], requireMfa: true }),
          jwtRole('model-mfa-api', { groups: ['prod-approvers'], requireMfa: true, channels: ['web', 'api'] }),
        );
        return doc;
      },
    });
    clicker = new SlackClicker(stack.url, slack, SIGNING_SECRET);
    admin = await stack.devToken({ subject: 'admin' });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await slack?.stop();
  });

  const create = async (token: string, role: string, session?: string) =>
    stack.call('POST', '/v1/requests', {
      token,
      body: {
        role,
        environment: 'production',
        ttlSeconds: 300,
        reason: 'identity test',
        ...(session ? { session: { id: session } } : {}),
      },
    });
  const approve = (token: string, id: string) => stack.call('POST', `/v1/requests/${id}/approve`, { token, body: {} });
  const view = async (id: string) => (await stack.call('GET', `/v1/requests/${id}`, { token: admin })).body;

  /** A request approved by alice and claimed: its lease id. */
  async function issuedLease(agent: string, session?: string): Promise<{ requestId: string; leaseId: string }> {
    const created = await create(agent, 'model-one', session);
    expect(created.status).toBe(201);
    const alice = await stack.devToken({ subject: 'alice' });
    expect((await approve(alice, created.body.id)).body.state).toBe('approved');
    const claim = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
    expect(claim.status).toBe(201);
    return { requestId: created.body.id as string, leaseId: claim.body.lease.id as string };
  }

  describe('a second trusted issuer', () => {
    it("never reads, lists, revokes, cancels, claims or ends another issuer's same-named principal's things", async () => {
      const agent = await stack.devToken({ subject: 'agent-twin' });
      const twin = await idp.token({ sub: 'agent-twin' });
      const { requestId, leaseId } = await issuedLease(agent, 'twin-session');
      const pending = await create(agent, 'model-one', 'twin-session');

      expect((await stack.call('GET', `/v1/requests/${requestId}`, { token: twin })).status).toBe(403);
      expect((await stack.call('GET', `/v1/leases/${leaseId}`, { token: twin })).status).toBe(403);
      const listed = await stack.call('GET', '/v1/leases', { token: twin });
      expect(listed.status).toBe(200);
      expect(listed.body.leases).toEqual([]);
      expect((await stack.call('DELETE', `/v1/leases/${leaseId}`, { token: twin })).status).toBe(403);
      expect((await stack.call('DELETE', `/v1/requests/${pending.body.id}`, { token: twin })).status).toBe(403);
      expect((await stack.call('DELETE', '/v1/sessions/twin-session', { token: twin })).status).toBe(403);
      // Nor can it add requests to the session.
      expect((await create(twin, 'model-one', 'twin-session')).status).toBe(403);

      // The real owner still can: read, list, then end the session.
      expect((await stack.call('GET', `/v1/leases/${leaseId}`, { token: agent })).body.state).toBe('active');
      const mine = await stack.call('GET', '/v1/leases', { token: agent });
      expect(mine.body.leases.map((l: { id: string }) => l.id)).toContain(leaseId);
      const ended = await stack.call('DELETE', '/v1/sessions/twin-session', { token: agent });
      expect(ended.status).toBe(200);
      expect(ended.body.revokedLeases).toEqual([leaseId]);
      expect(ended.body.cancelledRequests).toEqual([pending.body.id]);
    });

    it('gains no approver group, admin right or Slack person by claiming their sub, email or groups', async () => {
      const created = await create(await stack.devToken({ subject: 'agent-idp' }), 'model-one');
      const id = created.body.id as string;
      const fakeAlice = await idp.token({
        sub: 'alice',
        email: 'alice@example.com',
        groups: ['prod-approvers', 'leash-admins'],
      });
      const refused = await approve(fakeAlice, id);
      expect(refused.status).toBe(403);
      expect(refused.body.type).toMatch(/not-approver$/);
      expect((await stack.call('GET', `/v1/requests/${id}`, { token: fakeAlice })).status).toBe(403);
      expect((await stack.call('GET', '/v1/audit', { token: fakeAlice })).status).toBe(403);
      const fakeAdmin = await idp.token({ sub: 'admin', groups: ['leash-admins'] });
      expect(
        (
          await stack.call('POST', '/v1/admin/revoke', {
            token: fakeAdmin,
            body: { environment: 'production', reason: 'x' },
          })
        ).status,
      ).toBe(403);
      expect((await view(id)).state).toBe('pending');
    });

    it("a member naming the second issuer matches only that issuer's tokens", async () => {
      const created = await create(await stack.devToken({ subject: 'agent-ci' }), 'model-ci');
      const id = created.body.id as string;
      expect((await approve(await stack.devToken({ subject: 'robot' }), id)).status).toBe(403);
      const robot = await approve(await idp.token({ sub: 'robot' }), id);
      expect(robot.status).toBe(200);
      expect(robot.body).toMatchObject({ state: 'approved', approvals: [{ approver: 'robot (test-idp)' }] });
    });
  });

  describe('capabilities are scoped to the role', () => {
    it('members of an unrelated approver group cannot read, list or revoke; approvers of the role can', async () => {
      const agent = await stack.devToken({ subject: 'agent-scope' });
      const { requestId, leaseId } = await issuedLease(agent);
      for (const outsider of [
        await stack.devToken({ subject: 'olga' }), // observers
        await stack.devToken({ subject: 'erin' }), // security and sre: not model-one's groups
        await stack.devToken({ subject: 'zed', groups: ['sre'] }),
      ]) {
        expect((await stack.call('GET', `/v1/requests/${requestId}`, { token: outsider })).status).toBe(403);
        expect((await stack.call('GET', `/v1/leases/${leaseId}`, { token: outsider })).status).toBe(403);
        const list = await stack.call('GET', '/v1/leases', { token: outsider });
        expect(list.body.leases.map((l: { id: string }) => l.id)).not.toContain(leaseId);
        expect((await stack.call('DELETE', `/v1/leases/${leaseId}`, { token: outsider })).status).toBe(403);
      }
      const carol = await stack.devToken({ subject: 'carol' });
      expect((await stack.call('GET', `/v1/requests/${requestId}`, { token: carol })).status).toBe(200);
      const list = await stack.call('GET', '/v1/leases', { token: carol });
      expect(list.body.leases.map((l: { id: string }) => l.id)).toContain(leaseId);
      expect((await stack.call('DELETE', `/v1/leases/${leaseId}`, { token: carol })).body.state).toBe('revoked');
    });
  });

  describe('sessions belong to their principal', () => {
    it('another principal cannot add requests to a registered or a used session, nor block its owner ending it', async () => {
      const owner = await stack.devToken({ subject: 'agent-sess-a' });
      const other = await stack.devToken({ subject: 'agent-sess-b' });
      const registered = await stack.call('POST', '/v1/sessions', {
        token: owner,
        body: { id: 'sess-owned', idleSeconds: 600 },
      });
      expect(registered.status).toBe(201);
      const intruding = await create(other, 'model-one', 'sess-owned');
      expect(intruding.status).toBe(403);
      expect(intruding.body.detail).toContain('belongs to another principal');

      // An unregistered id becomes the first requester's.
      expect((await create(other, 'model-one', 'sess-unregistered')).status).toBe(201);
      expect((await create(owner, 'model-one', 'sess-unregistered')).status).toBe(403);
      expect((await stack.call('DELETE', '/v1/sessions/sess-unregistered', { token: owner })).status).toBe(403);
      expect((await stack.call('DELETE', '/v1/sessions/sess-unregistered', { token: other })).status).toBe(200);

      expect((await create(owner, 'model-one', 'sess-owned')).status).toBe(201);
      const ended = await stack.call('DELETE', '/v1/sessions/sess-owned', { token: owner });
      expect(ended.status).toBe(200);
      expect(ended.body.cancelledRequests).toHaveLength(1);
    });
  });

  describe('MFA evidence', () => {
    const mfaToken = (subject: string, authTime: number) =>
      fetch(`${stack.url}/v1/dev/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ subject, groups: [], amr: ['pwd', 'mfa'], authTime }),
      }).then(async (r) => ((await r.json()) as { token: string }).token);

    it('a requireMfa role takes approvals in the web console only unless channels lists api', async () => {
      const agent = await stack.devToken({ subject: 'agent-mfa', owner: 'bob' });
      const now = Math.floor(Date.now() / 1000);
      const alice = await mfaToken('alice', now);
      const webOnly = (await create(agent, 'model-mfa')).body.id as string;
      const byApi = await approve(alice, webOnly);
      expect(byApi.status).toBe(403);
      expect(byApi.body.type).toMatch(/channel-not-allowed$/);
      const before = clicker.ephemeralsTo('U0ALICE');
      await clicker.approve(webOnly, 'U0ALICE');
      await eventually(() => (clicker.ephemeralsTo('U0ALICE') > before ? true : undefined), 20_000);
      expect((await view(webOnly)).state).toBe('pending');
      const web = await ConsoleSession.devLogin(stack.url, { subject: 'alice', mfa: true });
      expect(await web.decide(webOnly, 'approve')).toBe(303);
      expect((await view(webOnly)).state).toBe('approved');

      const withApi = (await create(agent, 'model-mfa-api')).body.id as string;
      expect((await approve(alice, withApi)).body.state).toBe('approved');
    });

    it('refuses a token whose auth_time is in the future beyond the 60 s skew', async () => {
      const agent = await stack.devToken({ subject: 'agent-mfa-2' });
      const id = (await create(agent, 'model-mfa-api')).body.id as string;
      const future = await mfaToken('alice', Math.floor(Date.now() / 1000) + 3600);
      const res = await approve(future, id);
      expect(res.status).toBe(401);
      expect(res.body.detail).toContain('auth_time');
      expect((await view(id)).state).toBe('pending');
    });
  });

  describe('model: random approve, deny, cancel and claim through API, console and Slack', () => {
    // The cast: people with the groups the policy gives them and every identifier it knows, normalised.
    type Person = 'alice' | 'bob' | 'carol' | 'erin' | 'dave' | 'olga';
    const PEOPLE: Record<Person, { groups: string[]; ids: string[] }> = {
      alice: { groups: ['prod-approvers'], ids: ['alice', 'alice@example.com', 'u0alice'] },
      bob: { groups: ['prod-approvers', 'security'], ids: ['bob', 'bob@example.com', 'u0bob'] },
      carol: { groups: ['prod-approvers', 'sre'], ids: ['carol', 'u0carol'] },
      erin: { groups: ['security', 'sre'], ids: ['erin', 'erin@example.com', 'u0erin'] },
      dave: { groups: ['sre'], ids: ['dave'] },
      olga: { groups: ['observers'], ids: ['olga', 'u0olga'] },
    };
    const RULES: Record<
      string,
      { kind: 'pool'; groups: string[]; quorum: number } | { kind: 'and'; groups: string[] }
    > = {
      'model-one': { kind: 'pool', groups: ['prod-approvers'], quorum: 1 },
      'model-two': { kind: 'pool', groups: ['prod-approvers'], quorum: 2 },
      'model-and': { kind: 'and', groups: ['security', 'sre'] },
    };
    /** Who acts, how: API tokens (several spellings, a second issuer), console logins, Slack user ids. */
    type Actor = { label: string; person?: Person; channel: 'api' | 'console' | 'slack'; handle: string };
    const ACTORS: Actor[] = [
      { label: 'alice api', person: 'alice', channel: 'api', handle: 'dev:alice' },
      { label: 'alice api by email', person: 'alice', channel: 'api', handle: 'dev:alice-laptop:ALICE@Example.com' },
      { label: 'alice console', person: 'alice', channel: 'console', handle: 'alice' },
      { label: 'alice slack', person: 'alice', channel: 'slack', handle: 'U0ALICE' },
      { label: 'bob api', person: 'bob', channel: 'api', handle: 'dev:bob' },
      { label: 'bob console', person: 'bob', channel: 'console', handle: 'bob' },
      { label: 'bob slack', person: 'bob', channel: 'slack', handle: 'U0BOB' },
      { label: 'carol api', person: 'carol', channel: 'api', handle: 'dev:carol' },
      { label: 'carol slack', person: 'carol', channel: 'slack', handle: 'U0CAROL' },
      { label: 'erin api', person: 'erin', channel: 'api', handle: 'dev:erin' },
      { label: 'erin slack', person: 'erin', channel: 'slack', handle: 'U0ERIN' },
      { label: 'dave api (sre by token groups)', person: 'dave', channel: 'api', handle: 'dev:dave::sre' },
      { label: 'olga slack (observers)', person: 'olga', channel: 'slack', handle: 'U0OLGA' },
      { label: 'alice of the second issuer', channel: 'api', handle: 'idp:alice:alice@example.com' },
      { label: 'unknown slack user', channel: 'slack', handle: 'U0NOBODY' },
    ];
    const REQUESTERS = [
      { sub: 'agent-m1', owner: 'bob' },
      { sub: 'agent-m2', owner: ' Bob ' },
      { sub: 'agent-m3', owner: 'BOB@Example.com' },
      { sub: 'agent-m4', owner: 'erin@example.com' },
      { sub: 'carol' },
    ];

    const tokens = new Map<string, string>();
    const consoles = new Map<string, ConsoleSession>();

    beforeAll(async () => {
      for (const a of ACTORS.filter((x) => x.channel === 'api')) {
        const [issuer, sub, email, groups] = a.handle.split(':');
        tokens.set(
          a.handle,
          issuer === 'idp'
            ? await idp.token({ sub, email, groups: ['prod-approvers', 'security', 'sre'] })
            : await stack.devToken({
                subject: sub,
                ...(email ? { email } : {}),
                ...(groups ? { groups: [groups] } : {}),
              }),
        );
      }
      for (const a of ACTORS.filter((x) => x.channel === 'console')) {
        consoles.set(a.handle, await ConsoleSession.devLogin(stack.url, { subject: a.handle }));
      }
      for (const r of REQUESTERS) {
        tokens.set(r.sub, await stack.devToken({ subject: r.sub, ...(r.owner ? { owner: r.owner } : {}) }));
      }
    });

    interface ModelRequest {
      id: string;
      role: string;
      requester: (typeof REQUESTERS)[number];
      state: string;
      approvers: Person[];
    }

    const norm = (s: string) => s.trim().toLowerCase();
    const eligible = (p: Person | undefined, r: ModelRequest): p is Person =>
      p !== undefined &&
      !PEOPLE[p].ids.includes(norm(r.requester.sub)) &&
      !(r.requester.owner !== undefined && PEOPLE[p].ids.includes(norm(r.requester.owner))) &&
      PEOPLE[p].groups.some((g) => RULES[r.role].groups.includes(g));
    const satisfied = (r: ModelRequest): boolean => {
      const rule = RULES[r.role];
      const inGroup = (p: Person, g: string) => PEOPLE[p].groups.includes(g);
      if (rule.kind === 'pool') {
        return r.approvers.filter((p) => rule.groups.some((g) => inGroup(p, g))).length >= rule.quorum;
      }
      // One from security AND another from sre: one person fills one slot only.
      return r.approvers.some((p) => inGroup(p, 'security') && r.approvers.some((q) => q !== p && inGroup(q, 'sre')));
    };

    /** The invariant, on what the broker reports: approved only by a quorum of distinct eligible people. */
    function checkInvariant(r: ModelRequest, actual: { state: string; approvals: { approver: string }[] }): void {
      const keys = actual.approvals.map((a) => a.approver);
      const people = keys.map((k) => (k in PEOPLE ? (k as Person) : undefined));
      expect({ request: r.id, unknownApprovers: keys.filter((_, i) => people[i] === undefined) }).toEqual({
        request: r.id,
        unknownApprovers: [],
      });
      expect(new Set(people).size).toBe(people.length);
      for (const p of people) {
        expect({ request: r.id, approver: p, eligible: eligible(p, r) }).toEqual({
          request: r.id,
          approver: p,
          eligible: true,
        });
      }
      if (['approved', 'issuing', 'issued'].includes(actual.state)) {
        expect({ request: r.id, quorumMet: satisfied({ ...r, approvers: people as Person[] }) }).toEqual({
          request: r.id,
          quorumMet: true,
        });
      }
    }

    async function act(a: Actor, r: ModelRequest, decision: 'approve' | 'deny'): Promise<void> {
      const ok =
        eligible(a.person, r) && r.state === 'pending' && !(decision === 'approve' && r.approvers.includes(a.person));
      if (a.channel === 'slack') {
        if (decision === 'deny') {
          return;
        }
        const before = clicker.ephemeralsTo(a.handle);
        const count = r.approvers.length;
        expect(await clicker.approve(r.id, a.handle)).toBe(200);
        // The click is acted on after Slack's acknowledgement: wait for its outcome (or a generous bound).
        await eventually(async () => {
          if (clicker.ephemeralsTo(a.handle) > before) {
            return true;
          }
          const v = await view(r.id);
          return v.approvals.length > count || v.state !== r.state ? true : undefined;
        }, 20_000).catch(() => undefined);
      } else {
        const status =
          a.channel === 'api'
            ? (await stack.call('POST', `/v1/requests/${r.id}/${decision}`, { token: tokens.get(a.handle), body: {} }))
                .status
            : await consoles.get(a.handle)!.decide(r.id, decision);
        const success = a.channel === 'api' ? 200 : 303;
        expect({ actor: a.label, decision, request: r.id, accepted: status === success }).toEqual({
          actor: a.label,
          decision,
          request: r.id,
          accepted: ok,
        });
      }
      if (ok && eligible(a.person, r)) {
        if (decision === 'deny') {
          r.state = 'denied';
        } else {
          r.approvers.push(a.person);
          if (satisfied(r)) {
            r.state = 'approved';
          }
        }
      }
    }

    type Step =
      { kind: 'approve' | 'deny'; actor: number; request: number } | { kind: 'cancel' | 'claim'; request: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({
          kind: fc.constant('approve' as const),
          actor: fc.nat(ACTORS.length - 1),
          request: fc.nat(2),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('deny' as const),
          actor: fc.nat(ACTORS.length - 1),
          request: fc.nat(2),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), request: fc.nat(2) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('claim' as const), request: fc.nat(2) }) },
    );
    const scenario = fc.record({
      requests: fc.array(
        fc.record({ requester: fc.nat(REQUESTERS.length - 1), role: fc.constantFrom(...Object.keys(RULES)) }),
        { minLength: 3, maxLength: 3 },
      ),
      steps: fc.array(step, { minLength: 4, maxLength: 12 }),
    });

    it('never approves without a quorum of distinct eligible people, nor by the requester or the owner', async () => {
      await fc.assert(
        fc.asyncProperty(scenario, async ({ requests, steps }) => {
          const model: ModelRequest[] = [];
          for (const spec of requests) {
            const requester = REQUESTERS[spec.requester];
            const created = await create(tokens.get(requester.sub)!, spec.role);
            expect(created.status).toBe(201);
            model.push({ id: created.body.id, role: spec.role, requester, state: 'pending', approvers: [] });
          }
          await Promise.all(model.map((r) => clicker.message(r.id)));
          for (const s of steps) {
            const r = model[s.request];
            if (s.kind === 'approve' || s.kind === 'deny') {
              await act(ACTORS[s.actor], r, s.kind);
            } else {
              const path = s.kind === 'cancel' ? `/v1/requests/${r.id}` : `/v1/requests/${r.id}/credentials`;
              const res = await stack.call(s.kind === 'cancel' ? 'DELETE' : 'POST', path, {
                token: tokens.get(r.requester.sub),
              });
              const expected = s.kind === 'cancel' ? ['pending', 'approved'].includes(r.state) : r.state === 'approved';
              expect({ step: s.kind, request: r.id, ok: res.status < 300 }).toEqual({
                step: s.kind,
                request: r.id,
                ok: expected,
              });
              if (expected) {
                r.state = s.kind === 'cancel' ? 'cancelled' : 'issued';
              }
            }
            for (const m of model) {
              const actual = await view(m.id);
              checkInvariant(m, actual);
              expect({
                request: m.id,
                state: actual.state,
                approvers: actual.approvals.map((a: any) => a.approver).sort(),
              }).toEqual({
                request: m.id,
                state: m.state,
                approvers: [...m.approvers].sort(),
              });
            }
          }
        }),
        { numRuns: 15, endOnFailure: true },
      );
    }, 600_000);
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
