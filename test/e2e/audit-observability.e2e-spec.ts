import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LeashStack } from '../support/leash-stack';
import { SiemReceiver } from '../fakes/siem-receiver';

const ROOT = join(__dirname, '..', '..');
const SECRET = 'siem-hmac-secret-0123456789abcdef0123';

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met in ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

function leash(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin/leash.js'), ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Sum of a Prometheus series matching a name and label subset. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) {
      continue;
    }
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

const scrape = async (url: string): Promise<string> => (await fetch(url)).text();

describe('audit trail and observability', () => {
  let stack: LeashStack;
  let other: LeashStack | undefined;
  let siem: SiemReceiver;
  let agent: string;
  let approver: string;
  let admin: string;
  let exportDir: string;

  beforeAll(async () => {
    siem = await SiemReceiver.start(SECRET);
    exportDir = join(ROOT, '.test-artifacts', `audit-export-${process.pid}-${Date.now()}`);
    stack = await LeashStack.start({
      name: 'audit',
      env: {
        LEASH_AUDIT_WEBHOOK_URL: siem.url,
        LEASH_AUDIT_WEBHOOK_SECRET: SECRET,
        LEASH_AUDIT_EXPORT_ATTEMPTS: '2',
        LEASH_AUDIT_EXPORT_BACKOFF_MS: '50',
        LEASH_AUDIT_DEAD_LETTER_PAUSE_MS: '500',
        LEASH_AUDIT_EXPORT_BATCH: '7',
        LEASH_AUDIT_JSONL_MAX_BYTES: '4096',
        LEASH_AUDIT_JSONL_DIR: exportDir,
      },
    });
    agent = await stack.devToken({ subject: 'agent-audit', owner: 'bob' });
    approver = await stack.devToken({ subject: 'alice' });
    admin = await stack.devToken({ subject: 'admin' });
  });

  afterAll(async () => {
    await other?.stop();
    await stack?.stop();
    await siem?.stop();
  });

  const autoLease = async (
    ttlSeconds = 1800,
    s = stack,
    token = agent,
  ): Promise<{ requestId: string; leaseId: string }> => {
    const created = await s.call('POST', '/v1/requests', {
      token,
      body: {
        role: 'demo-staging-read',
        environment: 'staging',
        ttlSeconds,
        reason: 'audit test',
        session: { id: 'sess-audit' },
      },
    });
    expect(created.status).toBe(201);
    const claim = await s.call('POST', `/v1/requests/${created.body.id}/credentials`, { token });
    expect(claim.status).toBe(201);
    return { requestId: created.body.id, leaseId: claim.body.lease.id };
  };

  it('metrics follow a request → approve → claim → revoke flow, on separate metrics ports', async () => {
    const apiBefore = await scrape(stack.metricsUrl);
    expect((await fetch(`${stack.url}/metrics`)).status).toBe(404);

    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-prod-write', environment: 'production', ttlSeconds: 300, reason: 'migration 7' },
    });
    expect(created.status).toBe(201);
    const pending = await scrape(stack.workerMetricsUrl);
    expect(metric(pending, 'leash_pending_requests')).toBeGreaterThanOrEqual(1);
    expect(
      (await stack.call('POST', `/v1/requests/${created.body.id}/approve`, { token: approver, body: {} })).status,
    ).toBe(200);
    const claim = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
    expect(claim.status).toBe(201);
    const active = await scrape(stack.workerMetricsUrl);
    expect(metric(active, 'leash_active_leases', { environment: 'production', provider: 'jwt' })).toBe(1);
    expect((await stack.call('DELETE', `/v1/leases/${claim.body.lease.id}`, { token: agent })).status).toBe(200);
    // A short lease the worker revokes at expiry feeds the revocation lag histogram.
    const short = await autoLease(5);
    await waitFor(async () => {
      const l = await stack.call('GET', `/v1/leases/${short.leaseId}`, { token: agent });
      return l.body.state === 'revoked' ? true : undefined;
    }, 15_000);

    const api = await scrape(stack.metricsUrl);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      metric(api, name, labels) - metric(apiBefore, name, labels);
    expect(
      delta('leash_requests_total', { decision: 'needs_approval', environment: 'production', role: 'demo-prod-write' }),
    ).toBe(1);
    expect(delta('leash_requests_total', { decision: 'auto_approved', environment: 'staging' })).toBe(1);
    expect(delta('leash_approvals_total', { channel: 'api' })).toBe(1);
    expect(delta('leash_approval_wait_seconds_count')).toBe(1);
    expect(delta('leash_issuance_duration_seconds_count', { provider: 'jwt' })).toBe(2);
    expect(delta('leash_revocations_total', { provider: 'jwt', reason: 'early' })).toBe(1);
    expect(api).toContain('leash_policy_reload_failures_total');

    const worker = await scrape(stack.workerMetricsUrl);
    expect(metric(worker, 'leash_revocation_lag_seconds_count', { provider: 'jwt' })).toBeGreaterThanOrEqual(1);
    expect(metric(worker, 'leash_active_leases', { environment: 'production' })).toBe(0);
    expect(metric(worker, 'leash_reconciler_runs_total', { result: 'ok' })).toBeGreaterThanOrEqual(1);
    for (const series of [
      'leash_queue_jobs{',
      'leash_quarantined_leases',
      'leash_revocation_failures_total',
      'leash_reconciler_overdue_leases_total',
      'leash_audit_sink_backlog{',
    ]) {
      expect(worker).toContain(series);
    }
  });

  it('serves the audit trail to admins only, with filters and cursor pagination', async () => {
    const { requestId } = await autoLease();
    expect((await stack.call('GET', '/v1/audit', { token: agent })).status).toBe(403);
    expect((await stack.call('GET', '/v1/audit')).status).toBe(401);
    const bad = await stack.call('GET', '/v1/audit?from=yesterday&limit=100000&bogus=1', { token: admin });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(
      expect.arrayContaining(['query.from', 'query.limit']),
    );

    const mine = await stack.call('GET', `/v1/audit?request=${requestId}`, { token: admin });
    expect(mine.status).toBe(200);
    expect(mine.body.events.map((e: { action: string }) => e.action)).toEqual(['request.created', 'credential.issued']);
    const issued = mine.body.events[1];
    expect(issued).toMatchObject({
      actor: { id: 'agent-audit', channel: 'api' },
      environment: 'staging',
      role: 'demo-staging-read',
      provider: 'jwt',
    });
    expect(issued.providerRef).toMatchObject({ jti: issued.leaseId });
    expect(issued.hash).toMatch(/^[0-9a-f]{64}$/);

    const first = await stack.call('GET', '/v1/audit?limit=3', { token: admin });
    expect(first.body.events.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3]);
    const second = await stack.call('GET', `/v1/audit?limit=3&cursor=${first.body.nextCursor}`, { token: admin });
    expect(second.body.events.map((e: { seq: number }) => e.seq)).toEqual([4, 5, 6]);
    const future = await stack.call('GET', `/v1/audit?from=${encodeURIComponent('2999-01-01T00:00:00Z')}`, {
      token: admin,
    });
    expect(future.body).toEqual({ events: [] });

    const verified = await stack.call('GET', '/v1/audit/verify', { token: admin });
    expect(verified.body).toMatchObject({ ok: true, start: { seq: 1 } });
    expect((await stack.call('GET', '/v1/audit/verify', { token: agent })).status).toBe(403);
  });

  it('delivers every event to the webhook once it comes back, HMAC-signed, after listing dead letters', async () => {
    // The receiver has been down since the start: batches exhaust their retries and are dead-lettered.
    const dead = await waitFor(async () => {
      const s = await stack.call('GET', '/v1/audit/sinks', { token: admin });
      const webhook = s.body.sinks.find((x: { name: string }) => x.name === 'webhook');
      return webhook?.deadLetters.length > 0 ? webhook : undefined;
    }, 20_000);
    expect(dead.deadLetters[0]).toMatchObject({ sink: 'webhook', fromSeq: 1, error: 'webhook answered HTTP 503' });
    expect(dead.backlog).toBeGreaterThan(0);
    expect(siem.bySeq.size).toBe(0);

    siem.up = true;
    const head = (await stack.call('GET', '/v1/audit/verify', { token: admin })).body.head.seq as number;
    await waitFor(() => Promise.resolve(siem.bySeq.size >= head ? true : undefined), 30_000);
    expect([...siem.bySeq.keys()].sort((a, b) => a - b).slice(0, head)).toEqual(
      Array.from({ length: head }, (_, i) => i + 1),
    );
    expect(siem.badSignatures).toBe(0);
    const after = await waitFor(async () => {
      const s = await stack.call('GET', '/v1/audit/sinks', { token: admin });
      const webhook = s.body.sinks.find((x: { name: string }) => x.name === 'webhook');
      return webhook.deadLetters.length === 0 ? webhook : undefined;
    }, 10_000);
    expect(after.ackedSeq).toBeGreaterThanOrEqual(head);
  });

  it('rotates the JSONL export without losing or repeating a line, and the CLI verifies it offline with a checkpoint', async () => {
    for (let i = 0; i < 6; i += 1) {
      await autoLease();
    }
    const cp = await stack.call('POST', '/v1/audit/checkpoints', { token: admin });
    expect(cp.status).toBe(201);
    expect((await stack.call('POST', '/v1/audit/checkpoints', { token: agent })).status).toBe(403);
    const listed = await stack.call('GET', '/v1/audit/checkpoints', { token: admin });
    expect(listed.body.checkpoints[0]).toMatchObject({ seq: cp.body.seq, hash: cp.body.hash });
    await waitFor(async () => {
      const s = await stack.call('GET', '/v1/audit/sinks', { token: admin });
      return s.body.sinks.find((x: { name: string }) => x.name === 'jsonl')?.ackedSeq >= cp.body.seq ? true : undefined;
    }, 20_000);

    const files = readdirSync(exportDir).sort((a, b) =>
      a === 'audit.jsonl' ? 1 : b === 'audit.jsonl' ? -1 : a.localeCompare(b),
    );
    expect(files.length).toBeGreaterThan(2);
    const paths = files.map((f) => join(exportDir, f));
    const seqs = paths.flatMap((p) =>
      readFileSync(p, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).seq as number),
    );
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));

    const dir = stack.dir;
    writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify(cp.body));
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify((await stack.call('GET', '/.well-known/jwks.json')).body));
    const fromFiles = paths.flatMap((p) => ['--from-file', p]);
    const offline = { LEASH_URL: 'http://127.0.0.1:9' };
    const ok = await leash(
      ['audit', 'verify', ...fromFiles, '--checkpoint', join(dir, 'checkpoint.json'), '--jwks', join(dir, 'jwks.json')],
      offline,
    );
    expect(ok.stderr).toContain('audit chain OK');
    expect(ok.code).toBe(0);

    // Truncate the export before the checkpointed head: detected only thanks to the checkpoint.
    const all = paths.flatMap((p) => readFileSync(p, 'utf8').trim().split('\n'));
    const cut = all.filter((l) => (JSON.parse(l).seq as number) < cp.body.seq - 2);
    writeFileSync(join(dir, 'truncated.jsonl'), `${cut.join('\n')}\n`);
    const plain = await leash(['audit', 'verify', '--from-file', join(dir, 'truncated.jsonl')], offline);
    expect(plain.code).toBe(0);
    const truncated = await leash(
      [
        'audit',
        'verify',
        '--from-file',
        join(dir, 'truncated.jsonl'),
        '--checkpoint',
        join(dir, 'checkpoint.json'),
        '--jwks',
        join(dir, 'jwks.json'),
      ],
      offline,
    );
    expect(truncated.code).toBe(1);
    expect(truncated.stderr).toMatch(new RegExp(`BROKEN at seq ${cp.body.seq - 2} .*truncated`));

    // A checkpoint whose signature does not verify is refused, not trusted.
    const forged = { ...cp.body, jws: cp.body.jws.replace(/.{4}$/, 'AAAA') };
    writeFileSync(join(dir, 'forged.json'), JSON.stringify(forged));
    const refused = await leash(
      ['audit', 'verify', ...fromFiles, '--checkpoint', join(dir, 'forged.json'), '--jwks', join(dir, 'jwks.json')],
      offline,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('checkpoint signature invalid');

    // Tampering with one exported line: changed, deleted, reordered, inserted.
    const cases: [string, (lines: string[]) => string[], number][] = [
      ['changed', (l) => l.map((x, i) => (i === 4 ? x.replace('"actor":{"id":"', '"actor":{"id":"x') : x)), 5],
      ['deleted', (l) => l.filter((_, i) => i !== 4), 6],
      ['reordered', (l) => [...l.slice(0, 4), l[5], l[4], ...l.slice(6)], 6],
      ['inserted', (l) => [...l.slice(0, 4), l[2], ...l.slice(4)], 3],
    ];
    for (const [name, mutate, seq] of cases) {
      const file = join(dir, `${name}.jsonl`);
      const lines = mutate(all);
      writeFileSync(file, `${lines.join('\n')}\n`);
      const r = await leash(['audit', 'verify', '--from-file', file], offline);
      expect({ name, code: r.code }).toEqual({ name, code: 1 });
      expect(r.stderr).toContain(`BROKEN at seq ${seq} `);
    }
  });

  it('detects tampering in Redis through GET /v1/audit/verify and the CLI, at the first broken link', async () => {
    const redis = stack.redis.client();
    const key = '{leash}:audit';
    const original = await redis.xrange(key, '-', '+');
    const rewrite = async (rows: [string, string][]): Promise<void> => {
      const tx = redis.multi().del(key);
      rows.forEach(([, json], i) => tx.xadd(key, `${i + 1}-0`, 'event', json));
      await tx.exec();
    };
    const events = original.map(([id, f]) => [id, f[1]] as [string, string]);
    const cli = { LEASH_URL: stack.url, LEASH_TOKEN: admin };
    try {
      const changed = events.map(
        ([id, json], i) =>
          [id, i === 9 ? json.replace('"actor":{"id":"', '"actor":{"id":"x') : json] as [string, string],
      );
      await rewrite(changed);
      let v = await stack.call('GET', '/v1/audit/verify', { token: admin });
      expect(v.body).toMatchObject({ ok: false, broken: { seq: 10, reason: 'hash_mismatch' } });
      const viaCli = await leash(['audit', 'verify'], cli);
      expect(viaCli.code).toBe(1);
      expect(viaCli.stderr).toContain('BROKEN at seq 10 ');

      await rewrite(events.filter((_, i) => i !== 9));
      v = await stack.call('GET', '/v1/audit/verify', { token: admin });
      expect(v.body.broken).toMatchObject({ seq: 11, reason: 'seq_gap' });

      await rewrite([...events.slice(0, 9), events[10], events[9], ...events.slice(11)]);
      v = await stack.call('GET', '/v1/audit/verify', { token: admin });
      expect(v.body.broken).toMatchObject({ seq: 11 });

      // Removing the tail after the last checkpoint shows as truncation against the stored checkpoint.
      const cps = (await stack.call('GET', '/v1/audit/checkpoints', { token: admin })).body.checkpoints;
      await rewrite(events.slice(0, cps[0].seq - 3));
      v = await stack.call('GET', '/v1/audit/verify', { token: admin });
      expect(v.body.broken).toMatchObject({ reason: 'truncated', seq: cps[0].seq - 2 });
    } finally {
      await rewrite(events);
      redis.disconnect();
    }
    expect((await stack.call('GET', '/v1/audit/verify', { token: admin })).body.ok).toBe(true);
  });

  it('two broker processes appending concurrently produce one valid chain', async () => {
    other = await LeashStack.start({ name: 'audit-b', redis: stack.redis, worker: false });
    const otherAgent = await other.devToken({ subject: 'agent-audit-b' });
    const before = (await stack.call('GET', '/v1/audit/verify', { token: admin })).body.head.seq as number;
    const burst = (s: LeashStack, token: string) =>
      Array.from({ length: 15 }, () =>
        s.call('POST', '/v1/requests', {
          token,
          body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 60, reason: 'concurrency' },
        }),
      );
    const results = await Promise.all([...burst(stack, agent), ...burst(other, otherAgent)]);
    expect(results.every((r) => r.status === 201)).toBe(true);
    const v = await stack.call('GET', '/v1/audit/verify', { token: admin });
    expect(v.body.ok).toBe(true);
    expect(v.body.head.seq - before).toBeGreaterThanOrEqual(30);
    const actors = new Set(
      (
        await stack.call('GET', `/v1/audit?cursor=${before}&limit=1000&action=request.created`, { token: admin })
      ).body.events.map((e: { actor: { id: string } }) => e.actor.id),
    );
    expect(actors).toEqual(new Set(['agent-audit', 'agent-audit-b']));
  });

  it('readiness is a terminus check; logs are JSON with request ids and principals and hold no issued secret', async () => {
    const ready = await stack.call('GET', '/readyz');
    expect({ status: ready.status, error: ready.body.error }).toEqual({ status: 200, error: {} });
    expect(ready.body).toMatchObject({
      status: 'ok',
      info: {
        redis: { status: 'up' },
        queue: { status: 'up' },
        policy: { status: 'up' },
        providers: { status: 'up', jwt: 'up' },
      },
    });
    expect((await stack.call('GET', '/healthz')).body).toEqual({ status: 'ok' });

    const res = await stack.call('GET', '/v1/leases', { token: agent, headers: { 'x-request-id': 'trace-abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-abc-123');
    await new Promise((r) => setTimeout(r, 200));
    const line = stack.api.log
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((l) => l.reqId === 'trace-abc-123' && l.msg === 'request completed');
    expect(line).toMatchObject({ level: 'info', principal: 'agent-audit', res: { statusCode: 200 } });
    expect(stack.api.log).not.toMatch(/authorization/i);
    expect(await stack.leakedSecrets()).toEqual([]);
    expect(stack.issuedSecrets.length).toBeGreaterThan(5);
  });

  it('readiness answers 503 with the failing check when Redis is down', async () => {
    await other?.stop();
    other = undefined;
    await stack.redis.stop();
    const down = await stack.call('GET', '/readyz');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({
      status: 'error',
      error: { redis: { status: 'down' } },
      checks: { redis: { status: 'down' } },
    });
    const audit = await stack.call('GET', '/v1/audit', { token: admin });
    expect(audit.status).toBe(503);
  });
});
