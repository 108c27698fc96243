import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { ConsoleSession } from '../support/approver-channels';
import { LeashStack } from '../support/leash-stack';

const briefPlan = readFileSync(join(__dirname, '../../deploy/examples/brief-plan.tf'), 'utf8');
const CONFIRM = { confirmEnvironment: 'production' };

/**
 * The demo policy exactly as `npm run demo` loads it: its risk routing sends a high or critical production
 * request to two different prod-approvers, each signed in with MFA, in the web console (the development
 * sign-in's MFA box in the demo).
 */
describe('demo policy: risk routing of production requests', () => {
  let stack: LeashStack;
  let agent: string;

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'demo-routing' });
    agent = await stack.devToken({ subject: 'agent-demo', owner: 'bob' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const create = (context: Record<string, unknown>) =>
    stack.call('POST', '/v1/requests', {
      token: agent,
      body: {
        role: 'demo-prod-write',
        environment: 'production',
        ttlSeconds: 60,
        reason: 'grant the deployer editor on acme-prod and roll out api 2.4.1',
        session: { id: 'sess-demo-routing' },
        context,
      },
    });
  const view = async (id: string) => (await stack.call('GET', `/v1/requests/${id}`, { token: agent })).body;

  it("a critical production request (the brief's plan) needs two different prod-approvers, each with MFA, in the console", async () => {
    const created = await create({ plan: briefPlan });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      state: 'pending',
      risk: { level: 'critical' },
      quorum: { satisfied: false, progress: '0 of 2: prod-approvers' },
    });
    const id = created.body.id as string;

    // The API channel is closed to it (MFA routes take web approvals only), even for a member with an MFA token.
    const mfaClaims = { subject: 'dave', amr: ['pwd', 'mfa'], authTime: Math.floor(Date.now() / 1000) };
    const daveApi = await stack.call('POST', `/v1/requests/${id}/approve`, {
      token: await stack.devToken(mfaClaims),
      body: {},
    });
    expect(daveApi.status).toBe(403);
    expect(daveApi.body.type).toBe('https://leash.dev/problems/channel-not-allowed');

    // The demo's sign-in can claim MFA: a box of the development sign-in only (absent without LEASH_DEV_ISSUER,
    // see console.e2e-spec), labelled as such.
    const login = await (await fetch(`${stack.url}/console/login`)).text();
    expect(login).toMatch(
      /data-testid="dev-mfa"[\s\S]*name="mfa"[\s\S]*development\s+only:\s+no\s+second\s+factor\s+is\s+checked/,
    );

    // A console sign-in without MFA does not count.
    const aliceNoMfa = await ConsoleSession.devLogin(stack.url, { subject: 'alice' });
    expect(await aliceNoMfa.decide(id, 'approve', CONFIRM)).toBe(403);
    expect(await view(id)).toMatchObject({ state: 'pending', approvals: [] });
    // Its request page says how to get MFA here: the development sign-in again (the demo has no IdP, whose
    // login page would be a 404), and that page offers the MFA box and comes back to the request.
    const noMfaPage = await aliceNoMfa.get(`/console/requests/${id}`);
    const mfaLink = /data-testid="mfa-login"\s+href="([^"]+)"/.exec(noMfaPage.html)?.[1]?.replace(/&amp;/g, '&');
    expect(mfaLink).toBe(`/console/login?returnTo=${encodeURIComponent(`/console/requests/${id}`)}`);
    const mfaSignIn = await aliceNoMfa.get(mfaLink ?? '');
    expect(mfaSignIn.status).toBe(200);
    expect(mfaSignIn.html).toContain('data-testid="dev-mfa"');
    expect(mfaSignIn.html).toContain(`name="returnTo" value="/console/requests/${id}"`);

    // The owner who launched the agent never counts, MFA or not.
    const bob = await ConsoleSession.devLogin(stack.url, { subject: 'bob', mfa: true });
    expect(await bob.decide(id, 'approve', CONFIRM)).toBe(403);

    // alice with MFA: one of two.
    const alice = await ConsoleSession.devLogin(stack.url, { subject: 'alice', mfa: true });
    expect(await alice.decide(id, 'approve', CONFIRM)).toBe(303);
    expect(await view(id)).toMatchObject({
      state: 'pending',
      approvals: [{ approver: 'alice', channel: 'web' }],
      quorum: { satisfied: false, progress: '1 of 2: prod-approvers' },
    });

    // The same person again, from another sign-in, is still one person.
    const aliceAgain = await ConsoleSession.devLogin(stack.url, { subject: 'alice', mfa: true });
    expect(await aliceAgain.decide(id, 'approve', CONFIRM)).toBe(409);
    expect((await view(id)).state).toBe('pending');

    // A second, different prod-approver with MFA completes the quorum; the agent claims.
    const dave = await ConsoleSession.devLogin(stack.url, { subject: 'dave', mfa: true });
    expect(await dave.decide(id, 'approve', CONFIRM)).toBe(303);
    expect(await view(id)).toMatchObject({
      state: 'approved',
      approvals: [
        { approver: 'alice', channel: 'web' },
        { approver: 'dave', channel: 'web' },
      ],
      quorum: { satisfied: true },
    });
    const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agent });
    expect(claim.status).toBe(201);
    // The credential carries the receipt of this approval: both persons, the approved digest, the policy version.
    const payload = decodeJwt(claim.body.credential.token as string);
    expect(payload.leash_approval).toEqual({
      digest: created.body.digest,
      approvers: ['alice', 'dave'],
      auto: false,
      policyVersion: created.body.policyVersion,
    });
  });

  it('the same write without a plan is medium: one approver, through any channel', async () => {
    const created = await create({});
    expect(created.body).toMatchObject({
      risk: { level: 'medium' },
      quorum: { satisfied: false, progress: '0 of 1: prod-approvers' },
    });
    const approved = await stack.call('POST', `/v1/requests/${created.body.id}/approve`, {
      token: await stack.devToken({ subject: 'alice' }),
      body: {},
    });
    expect(approved.body).toMatchObject({ state: 'approved' });
  });

  it('leaks no issued credential into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
