import { createLocalJWKSet, jwtVerify } from 'jose';
import { eventually } from '../support/eventually';
import { LeashStack } from '../support/leash-stack';

const agent = { subject: 'agent-core', owner: 'bob', groups: [] as string[] };

describe('core loop: request → approve → credential → lease → revoked at expiry', () => {
  let stack: LeashStack;
  let agentToken: string;
  let approverToken: string;
  let ownerToken: string;
  let strangerToken: string;

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'core' });
    agentToken = await stack.devToken(agent);
    approverToken = await stack.devToken({ subject: 'alice' });
    ownerToken = await stack.devToken({ subject: 'bob' });
    strangerToken = await stack.devToken({
      subject: 'mallory',
      groups: ['developers'],
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const introspect = async (token: string): Promise<{ active: boolean; [k: string]: unknown }> =>
    (await stack.introspect(token)).body;

  it('auto-approves staging, issues a JWT that verifies against the JWKS, and the worker revokes it at expiry', async () => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agentToken,
      body: {
        role: 'demo-staging-read',
        environment: 'staging',
        ttlSeconds: 5,
        reason: 'read logs',
        session: { id: 'sess-core-1' },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      state: 'approved',
      decision: 'auto_approved',
      risk: { level: 'low' },
    });

    const claim = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agentToken });
    expect(claim.status).toBe(201);
    const { token } = claim.body.credential as { token: string };
    const leaseId = claim.body.lease.id as string;

    const jwks = await stack.call('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys[0]).not.toHaveProperty('d');
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks.body), {
      issuer: stack.url,
      audience: 'demo-api',
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({
      sub: 'agent-core',
      env: 'staging',
      scope: 'read',
      jti: leaseId,
      leash_session: 'sess-core-1',
    });
    expect((payload.exp as number) - (payload.iat as number)).toBeLessThanOrEqual(5);
    expect(claim.body.lease.fingerprint).toContain(token.slice(-4));

    expect((await introspect(token)).active).toBe(true);

    const revoked = await eventually(async () => {
      const lease = await stack.call('GET', `/v1/leases/${leaseId}`, {
        token: agentToken,
      });
      return lease.body.state === 'revoked' ? lease.body : undefined;
    }, 15_000);
    expect(revoked.revokeReason).toBe('expired');
    expect((await introspect(token)).active).toBe(false);

    const redis = stack.redis.client();
    const events = (await redis.xrange('{leash}:audit', '-', '+')).map(([, f]) => JSON.parse(f[1]));
    redis.disconnect();
    const revokedEvent = events.find((e) => e.action === 'lease.revoked' && e.leaseId === leaseId);
    expect(revokedEvent).toMatchObject({
      actor: { id: 'system', channel: 'system' },
      details: { reason: 'expired' },
    });
    expect(typeof revokedEvent.details.lagMs).toBe('number');
    expect(revokedEvent.details.lagMs).toBeLessThan(5000);
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining(['request.created', 'credential.issued', 'lease.revoked']),
    );
  });

  it('production write waits for a member of prod-approvers; conflicted and non-member approvers are refused', async () => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agentToken,
      body: {
        role: 'demo-prod-write',
        environment: 'production',
        ttlSeconds: 300,
        reason: 'apply migration 42',
        context: { ticket: 'OPS-1' },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      state: 'pending',
      decision: 'needs_approval',
      quorum: { satisfied: false, progress: '0 of 1: prod-approvers' },
    });
    expect(created.body.risk.reasons).toEqual(
      expect.arrayContaining(['Affects production environment', 'Elevated privileges required']),
    );
    const id = created.body.id as string;

    const early = await stack.call('POST', `/v1/requests/${id}/credentials`, {
      token: agentToken,
    });
    expect(early.status).toBe(409);

    const self = await stack.call('POST', `/v1/requests/${id}/approve`, {
      token: agentToken,
      body: {},
    });
    expect(self.status).toBe(403);
    expect(self.headers.get('content-type')).toContain('application/problem+json');
    expect(self.body.type).toMatch(/self-approval$/);

    const owner = await stack.call('POST', `/v1/requests/${id}/approve`, {
      token: ownerToken,
      body: {},
    });
    expect(owner.status).toBe(403);
    expect(owner.body.detail).toContain('owner');

    const stranger = await stack.call('POST', `/v1/requests/${id}/approve`, {
      token: strangerToken,
      body: {},
    });
    expect(stranger.status).toBe(403);
    expect(stranger.body.type).toMatch(/not-approver$/);

    // A long-poll started before the approval returns as soon as the state changes.
    const poll = stack.call('GET', `/v1/requests/${id}?waitSeconds=20`, {
      token: agentToken,
    });
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const approved = await stack.call('POST', `/v1/requests/${id}/approve`, {
      token: approverToken,
      body: { comment: 'looks fine' },
    });
    expect(approved.status).toBe(200);
    expect(approved.body.state).toBe('approved');
    const polled = await poll;
    expect(polled.body.state).toBe('approved');
    expect(Date.now() - started).toBeLessThan(5000);

    const again = await stack.call('POST', `/v1/requests/${id}/approve`, {
      token: approverToken,
      body: {},
    });
    expect(again.status).toBe(409);

    const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, {
      token: agentToken,
    });
    expect(claim.status).toBe(201);
    const token = claim.body.credential.token as string;
    expect((await introspect(token)).active).toBe(true);

    const second = await stack.call('POST', `/v1/requests/${id}/credentials`, {
      token: agentToken,
    });
    expect(second.status).toBe(409);
    expect(second.body.type).toMatch(/already-claimed$/);

    const byStranger = await stack.call('DELETE', `/v1/leases/${claim.body.lease.id}`, { token: strangerToken });
    expect(byStranger.status).toBe(403);

    const t0 = Date.now();
    const revoke = await stack.call('DELETE', `/v1/leases/${claim.body.lease.id}`, { token: agentToken });
    expect(revoke.status).toBe(200);
    expect(revoke.body.state).toBe('revoked');
    expect((await introspect(token)).active).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('lets exactly one of 20 concurrent claims of an approved request succeed', async () => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agentToken,
      body: {
        role: 'demo-staging-read',
        environment: 'staging',
        ttlSeconds: 60,
        reason: 'race',
      },
    });
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        stack.call('POST', `/v1/requests/${created.body.id}/credentials`, {
          token: agentToken,
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const leases = await stack.call('GET', `/v1/leases?role=demo-staging-read`, { token: agentToken });
    expect(leases.body.leases.filter((l: { requestId: string }) => l.requestId === created.body.id)).toHaveLength(1);
  });

  it('denies, cancels, and refuses to approve decided requests', async () => {
    const a = await stack.call('POST', '/v1/requests', {
      token: agentToken,
      body: {
        role: 'demo-prod-write',
        environment: 'production',
        reason: 'deny me',
      },
    });
    const denied = await stack.call('POST', `/v1/requests/${a.body.id}/deny`, {
      token: approverToken,
      body: { comment: 'not now' },
    });
    expect(denied.status).toBe(200);
    expect(denied.body).toMatchObject({
      state: 'denied',
      denial: { by: 'alice', comment: 'not now' },
    });
    const late = await stack.call('POST', `/v1/requests/${a.body.id}/approve`, {
      token: approverToken,
      body: {},
    });
    expect(late.status).toBe(409);
    expect(late.body.type).toMatch(/not-pending$/);

    const b = await stack.call('POST', '/v1/requests', {
      token: agentToken,
      body: {
        role: 'demo-prod-write',
        environment: 'production',
        reason: 'cancel me',
      },
    });
    expect(
      (
        await stack.call('DELETE', `/v1/requests/${b.body.id}`, {
          token: approverToken,
        })
      ).status,
    ).toBe(403);
    const cancelled = await stack.call('DELETE', `/v1/requests/${b.body.id}`, {
      token: agentToken,
    });
    expect(cancelled.body.state).toBe('cancelled');
    expect(
      (
        await stack.call('POST', `/v1/requests/${b.body.id}/credentials`, {
          token: agentToken,
        })
      ).status,
    ).toBe(409);
  });

  it('revokes every lease of a session and cancels its open requests', async () => {
    const session = { id: 'sess-core-end' };
    const leaseIds: string[] = [];
    const tokens: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const r = await stack.call('POST', '/v1/requests', {
        token: agentToken,
        body: {
          role: 'demo-staging-read',
          environment: 'staging',
          ttlSeconds: 600,
          reason: `s${i}`,
          session,
        },
      });
      const c = await stack.call('POST', `/v1/requests/${r.body.id}/credentials`, { token: agentToken });
      leaseIds.push(c.body.lease.id);
      tokens.push(c.body.credential.token);
    }
    const pending = await stack.call('POST', '/v1/requests', {
      token: agentToken,
      body: {
        role: 'demo-prod-write',
        environment: 'production',
        reason: 'pending in session',
        session,
      },
    });
    expect(
      (
        await stack.call('DELETE', `/v1/sessions/${session.id}`, {
          token: strangerToken,
        })
      ).status,
    ).toBe(403);
    const ended = await stack.call('DELETE', `/v1/sessions/${session.id}`, {
      token: agentToken,
    });
    expect(ended.status).toBe(200);
    expect(ended.body.revokedLeases.sort()).toEqual([...leaseIds].sort());
    expect(ended.body.cancelledRequests).toEqual([pending.body.id]);
    for (const token of tokens) {
      expect((await introspect(token)).active).toBe(false);
    }
    const listed = await stack.call('GET', `/v1/leases?session=${session.id}`, {
      token: agentToken,
    });
    expect(listed.body.leases.map((l: { state: string }) => l.state)).toEqual(['revoked', 'revoked']);
    expect(
      (
        await stack.call('DELETE', '/v1/sessions/no-such-session', {
          token: agentToken,
        })
      ).status,
    ).toBe(404);
  });

  it('a lease and request recorded by the previous version (handle, reference and digest in full) are read, listed and revoked by the worker', async () => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agentToken,
      body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 6, reason: 'written before the upgrade' },
    });
    expect(created.status).toBe(201);
    const claim = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agentToken });
    expect(claim.status).toBe(201);
    const { token } = claim.body.credential as { token: string };
    const leaseId = claim.body.lease.id as string;
    const kid = claim.body.lease.providerRef.kid as string;
    // This version writes neither the JWT handle, nor the reference's jti, nor an auto-approved request's digest;
    // the previous one wrote all three (the reference's jti as null). Back to that shape, as it would have left it.
    const redis = stack.redis.client();
    try {
      const leaseKey = `{leash}:lease:${leaseId}`;
      const requestKey = `{leash}:req:${created.body.id}`;
      expect(await redis.hmget(leaseKey, 'handle', 'ref', 'k')).toEqual([null, null, kid]);
      expect(await redis.hexists(requestKey, 'digest')).toBe(0);
      await redis.hdel(leaseKey, 'k');
      await redis.hset(leaseKey, 'ref', JSON.stringify({ jti: null, kid }), 'handle', JSON.stringify({ jti: leaseId }));
      await redis.hset(requestKey, 'digest', created.body.digest);
    } finally {
      redis.disconnect();
    }
    const read = await stack.call('GET', `/v1/leases/${leaseId}`, { token: agentToken });
    expect(read.body).toMatchObject({ id: leaseId, state: 'active', providerRef: { jti: leaseId, kid } });
    const request = await stack.call('GET', `/v1/requests/${created.body.id}`, { token: agentToken });
    expect(request.body).toMatchObject({ state: 'issued', digest: created.body.digest, leaseId });
    const listed = await stack.call('GET', '/v1/leases?state=active&limit=100', { token: agentToken });
    expect(listed.body.leases.map((l: { id: string }) => l.id)).toContain(leaseId);
    expect((await introspect(token)).active).toBe(true);

    const revoked = await eventually(async () => {
      const lease = await stack.call('GET', `/v1/leases/${leaseId}`, { token: agentToken });
      return lease.body.state === 'revoked' ? lease.body : undefined;
    }, 20_000);
    expect(revoked).toMatchObject({ revokeReason: 'expired', providerRef: { jti: leaseId, kid } });
    expect((await introspect(token)).active).toBe(false);
  });

  it('shows requesters only their own leases', async () => {
    const other = await stack.devToken({ subject: 'agent-other' });
    const mine = await stack.call('GET', '/v1/leases', { token: other });
    expect(mine.status).toBe(200);
    expect(mine.body.leases).toEqual([]);
    const all = await stack.call('GET', '/v1/leases', { token: approverToken });
    expect(all.body.leases.length).toBeGreaterThan(0);
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThan(3);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
