import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeashStack } from '../support/leash-stack';
import { eventually } from '../support/eventually';

// Skews Date.now of the process it is preloaded into (node --require), as a host with a wrong clock would.
const PRELOAD = `const real = Date.now; const offset = Number(process.env.LEASH_TEST_CLOCK_SKEW_MS || 0);
Date.now = () => real() + offset;\n`;
const SKEW_MS = 10_000;

describe('one clock: expiry is decided on Redis time, whatever the hosts of API and worker say', () => {
  let stack: LeashStack;
  let agent: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leash-clock-'));
    const preload = join(dir, 'skew-clock.js');
    writeFileSync(preload, PRELOAD);
    stack = await LeashStack.start({
      name: 'clock-skew',
      // The API runs 10 s ahead: BullMQ would time every expiry job 10 s late on its clock.
      env: { NODE_OPTIONS: `--require ${preload}`, LEASH_TEST_CLOCK_SKEW_MS: String(SKEW_MS) },
      // The worker runs 10 s behind: BullMQ would fire due jobs 10 s late on its clock.
      workerEnv: { LEASH_TEST_CLOCK_SKEW_MS: String(-SKEW_MS) },
    });
    agent = await stack.devToken({ subject: 'agent-clock' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('each skewed process refuses readiness and says its clock is off', async () => {
    const api = await eventually(async () => {
      const r = await stack.call('GET', '/readyz');
      return r.status === 503 && r.body.checks?.store?.problems ? r : undefined;
    }, 20_000);
    expect(JSON.stringify(api.body.checks.store.problems)).toMatch(/clock is ahead of Redis TIME by \d+ ms/);
    const worker = await eventually(async () => {
      const r = await fetch(stack.workerMetricsUrl.replace(/\/metrics$/, '/readyz'));
      const text = JSON.stringify(await r.json());
      return r.status === 503 && /clock is/.test(text) ? text : undefined;
    }, 20_000);
    expect(worker).toMatch(/clock is behind Redis TIME by \d+ ms/);
  });

  it('revokes at expiry in real time, not 10 s late, and records an honest lag', async () => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 5, reason: 'clock skew' },
    });
    expect(created.status).toBe(201);
    const claim = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
    expect(claim.status).toBe(201);
    const leaseId = claim.body.lease.id as string;
    const expiresAt = Date.parse(claim.body.lease.expiresAt as string);
    // Redis runs on this host: its time is the real time the test reads here.
    expect(Math.abs(expiresAt - (Date.now() + 5000))).toBeLessThan(SKEW_MS / 2);

    const revokedSeenAt = await eventually(
      async () => {
        const lease = await stack.call('GET', `/v1/leases/${leaseId}`, { token: agent });
        return lease.body.state === 'revoked' ? Date.now() : undefined;
      },
      40_000,
      100,
    );
    // A skewed clock would have revoked no earlier than 10 s after expiry; the one clock does it at expiry.
    expect(revokedSeenAt - expiresAt).toBeLessThan(SKEW_MS - 2000);
    expect(revokedSeenAt).toBeGreaterThanOrEqual(expiresAt);
    const audit = await stack.call('GET', `/v1/audit?lease=${leaseId}&limit=50`, {
      token: await stack.devToken({ subject: 'admin' }),
    });
    const revoked = (audit.body.events as any[]).find((e) => e.action === 'lease.revoked');
    expect(revoked.details.lagMs).toBeLessThan(revokedSeenAt - expiresAt + 1000);
  });
});
