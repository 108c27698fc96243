import { LeashStack } from '../support/leash-stack';
import { expectProblem } from '../support/expect-problem';

describe('break glass: POST /v1/admin/revoke revokes every matching lease and cancels matching requests', () => {
  let stack: LeashStack;
  let admin: string;
  let approver: string;
  let agentA: string;
  let agentB: string;

  beforeAll(async () => {
    stack = await LeashStack.start({ name: 'break-glass' });
    admin = await stack.devToken({ subject: 'admin' });
    approver = await stack.devToken({ subject: 'alice' });
    agentA = await stack.devToken({ subject: 'agent-bg-a', owner: 'bob' });
    agentB = await stack.devToken({ subject: 'agent-bg-b', owner: 'bob' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const introspect = async (token: string): Promise<boolean> => (await stack.introspect(token)).body.active as boolean;

  async function request(agent: string, role: string, environment: string): Promise<string> {
    // A session belongs to one principal, so each agent names its own.
    const session = { id: `s-${role}-${agent.slice(-12)}` };
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role, environment, ttlSeconds: 600, reason: 'break glass test', session },
    });
    expect(created.status).toBe(201);
    return created.body.id as string;
  }

  /** Requests, approves when needed, claims; returns the lease id and its token. */
  async function lease(agent: string, role: string, environment: string): Promise<{ id: string; token: string }> {
    const id = await request(agent, role, environment);
    if (environment === 'production') {
      expect((await stack.call('POST', `/v1/requests/${id}/approve`, { token: approver, body: {} })).status).toBe(200);
    }
    const claim = await stack.call('POST', `/v1/requests/${id}/credentials`, { token: agent });
    expect(claim.status).toBe(201);
    return { id: claim.body.lease.id as string, token: (claim.body.credential as { token: string }).token };
  }

  it('revokes every production lease and cancels open production requests; staging is untouched', async () => {
    const prodA = await lease(agentA, 'demo-prod-write', 'production');
    const prodB = await lease(agentB, 'demo-prod-write', 'production');
    const staging = await lease(agentA, 'demo-staging-read', 'staging');
    const pending = await request(agentB, 'demo-prod-write', 'production');
    const approvedUnclaimed = await request(agentA, 'demo-prod-write', 'production');
    expect(
      (await stack.call('POST', `/v1/requests/${approvedUnclaimed}/approve`, { token: approver, body: {} })).status,
    ).toBe(200);
    for (const t of [prodA, prodB, staging]) {
      await expect(introspect(t.token)).resolves.toBe(true);
    }

    const res = await stack.call('POST', '/v1/admin/revoke', {
      token: admin,
      body: { environment: 'production', reason: 'suspected leaked agent credentials (INC-7)' },
    });
    expect(res.status).toBe(200);
    expect([...res.body.revokedLeases].sort()).toEqual([prodA.id, prodB.id].sort());
    expect(res.body.pendingLeases).toEqual([]);
    expect([...res.body.cancelledRequests].sort()).toEqual([pending, approvedUnclaimed].sort());
    expect(res.body.warnings).toEqual([]);

    // The receipt for JWT leases: introspection says inactive; staging still works.
    await expect(introspect(prodA.token)).resolves.toBe(false);
    await expect(introspect(prodB.token)).resolves.toBe(false);
    await expect(introspect(staging.token)).resolves.toBe(true);
    const view = await stack.call('GET', `/v1/leases/${prodA.id}`, { token: admin });
    expect(view.body).toMatchObject({ state: 'revoked' });

    // The approved request can no longer be claimed; the pending one can no longer be approved.
    const claim = await stack.call('POST', `/v1/requests/${approvedUnclaimed}/credentials`, { token: agentA });
    expect(claim.status).toBe(409);
    const approve = await stack.call('POST', `/v1/requests/${pending}/approve`, { token: approver, body: {} });
    expect(approve.status).toBe(409);

    // Audited: one break-glass event with who, why and what, and each lease's revocation with its reason.
    const audit = await stack.call('GET', '/v1/audit?action=admin.break_glass', { token: admin });
    expect(audit.status).toBe(200);
    expect(audit.body.events).toHaveLength(1);
    expect(audit.body.events[0]).toMatchObject({
      actor: { id: 'admin', channel: 'api' },
      environment: 'production',
      details: { reason: 'suspected leaked agent credentials (INC-7)', revoked: 2, cancelledRequests: 2 },
    });
    const revoked = await stack.call('GET', `/v1/audit?action=lease.revoked&lease=${prodA.id}`, { token: admin });
    expect(revoked.body.events[0]).toMatchObject({ details: { reason: 'break_glass' } });

    // The metric behind the LeashBreakGlass alert (deploy/observability/leash-alerts.yaml).
    const metrics = await (await fetch(stack.metricsUrl)).text();
    expect(metrics).toMatch(/^leash_audit_events_total\{action="admin\.break_glass",service="leash-api"\} 1$/m);

    // Repeating it finds nothing left to do.
    const again = await stack.call('POST', '/v1/admin/revoke', { token: admin, body: { environment: 'production' } });
    expect(again.body).toMatchObject({ revokedLeases: [], cancelledRequests: [] });
  });

  it('narrows by principal and role, and warns about selector values the policy does not know', async () => {
    const a = await lease(agentA, 'demo-staging-read', 'staging');
    const b = await lease(agentB, 'demo-staging-read', 'staging');
    const res = await stack.call('POST', '/v1/admin/revoke', {
      token: admin,
      body: { role: 'demo-staging-read', principal: 'agent-bg-a' },
    });
    expect(res.status).toBe(200);
    expect(res.body.revokedLeases).toContain(a.id);
    expect(res.body.revokedLeases).not.toContain(b.id);
    await expect(introspect(a.token)).resolves.toBe(false);
    await expect(introspect(b.token)).resolves.toBe(true);

    const typo = await stack.call('POST', '/v1/admin/revoke', { token: admin, body: { environment: 'prodcution' } });
    expect(typo.status).toBe(200);
    expect(typo.body).toMatchObject({
      revokedLeases: [],
      warnings: ['environment prodcution is not in the current policy'],
    });
  });

  it('is for admins only: approvers, agents and anonymous callers are refused and nothing is revoked', async () => {
    const a = await lease(agentA, 'demo-staging-read', 'staging');
    for (const token of [approver, agentA]) {
      const res = await stack.call('POST', '/v1/admin/revoke', { token, body: { environment: 'staging' } });
      expectProblem(res, 403, /forbidden$/);
      expect(res.body.detail).toBe('only admins may break glass');
    }
    expectProblem(await stack.call('POST', '/v1/admin/revoke', { body: { environment: 'staging' } }), 401, /./);
    await expect(introspect(a.token)).resolves.toBe(true);
  });

  it('answers malformed, empty, unknown, oversized and replayed input with a clear 4xx and stays up', async () => {
    const empty = await stack.call('POST', '/v1/admin/revoke', { token: admin, body: {} });
    expectProblem(empty, 400, /validation$/);
    expect(empty.body.detail).toContain('name at least one of environment, role, principal');
    expectProblem(
      await stack.call('POST', '/v1/admin/revoke', { token: admin, body: { environment: 'staging', all: true } }),
      400,
      /validation$/,
    );
    expectProblem(
      await stack.call('POST', '/v1/admin/revoke', { token: admin, body: { environment: 'prod; DROP' } }),
      400,
      /validation$/,
    );
    expectProblem(await stack.call('POST', '/v1/admin/revoke', { token: admin, raw: '{"environment":' }), 400, /./);
    expectProblem(
      await stack.call('POST', '/v1/admin/revoke', {
        token: admin,
        body: { environment: 'staging', reason: 'x'.repeat(70_000) },
      }),
      413,
      /payload-too-large$/,
    );
    // A forged admin token (signed by nobody the policy trusts) is refused.
    const [h, p] = admin.split('.');
    const forged = `${h}.${p}.${Buffer.from('not-a-signature').toString('base64url')}`;
    expectProblem(
      await stack.call('POST', '/v1/admin/revoke', { token: forged, body: { environment: 'staging' } }),
      401,
      /./,
    );

    // Replay with the same Idempotency-Key: the first answer again, nothing revoked twice; another body is refused.
    const agentC = await stack.devToken({ subject: 'agent-bg-c' });
    const c = await lease(agentC, 'demo-staging-read', 'staging');
    const headers = { 'idempotency-key': `bg-${Date.now()}` };
    const first = await stack.call('POST', '/v1/admin/revoke', {
      token: admin,
      headers,
      body: { principal: 'agent-bg-c' },
    });
    expect(first.status).toBe(200);
    expect(first.body.revokedLeases).toEqual([c.id]);
    const replay = await stack.call('POST', '/v1/admin/revoke', {
      token: admin,
      headers,
      body: { principal: 'agent-bg-c' },
    });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual(first.body);
    const mismatch = await stack.call('POST', '/v1/admin/revoke', { token: admin, headers, body: { principal: 'x' } });
    expect(mismatch.status).toBeGreaterThanOrEqual(400);
    expect(mismatch.status).toBeLessThan(500);
    const audit = await stack.call('GET', '/v1/audit?action=admin.break_glass', { token: admin });
    expect(audit.body.events.filter((e: any) => e.details.selector.principal === 'agent-bg-c')).toHaveLength(1);

    expect((await stack.call('GET', '/readyz')).status).toBe(200);
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(stack.issuedSecrets.length).toBeGreaterThan(0);
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
