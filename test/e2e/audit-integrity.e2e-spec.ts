import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, generateKeyPair } from 'jose';
import type { Redis } from 'ioredis';
import { chainEvent, type ChainPoint } from '@leash/core';
import { LeashStack } from '../support/leash-stack';

const LEASH = join(__dirname, '../../bin/leash.js');
const STREAM = '{leash}:audit';
const HEAD = '{leash}:audit:head';
const ANCHOR = '{leash}:audit:anchor';
const CHECKPOINTS = '{leash}:audit:checkpoints';

function leash(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [LEASH, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Retries an assertion until it holds; the bound is generous, not a measurement. */
async function eventually(check: () => unknown, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

type Snapshot = { events: [string, string][]; head: string | null; anchor: string | null; checkpoints: string[] };

/**
 * Invariant 8 of issue 13: audit verification does not trust what an attacker with write access to
 * Redis can rewrite. Each attack below is one an attacker could make undetected before: rewriting the
 * stored checkpoints' unsigned fields, forging a checkpoint, deleting the tail after the last
 * checkpoint (and rewinding the head pointer), and moving the retention anchor over young events.
 */
describe('audit integrity: verification trusts only signed checkpoints and what sinks acknowledged', () => {
  let stack: LeashStack;
  let redis: Redis;
  let exportDir: string;
  let admin: string;
  let agent: string;

  beforeAll(async () => {
    exportDir = mkdtempSync(join(tmpdir(), 'leash-audit-integrity-'));
    stack = await LeashStack.start({
      name: 'audit-integrity',
      env: {
        LEASH_AUDIT_JSONL_DIR: exportDir,
        LEASH_AUDIT_CHECKPOINT_EVERY_EVENTS: '10',
        LEASH_AUDIT_CHECKPOINT_INTERVAL_MS: '86400000',
      },
    });
    redis = stack.redis.client();
    admin = await stack.devToken({ subject: 'admin' });
    agent = await stack.devToken({ subject: 'agent-audit-int', owner: 'bob' });
  });

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
    rmSync(exportDir, { recursive: true, force: true });
  });

  const makeEvents = async (n: number) => {
    for (let i = 0; i < n; i += 1) {
      const res = await stack.call('POST', '/v1/requests', {
        token: agent,
        body: { role: 'demo-prod-write', environment: 'production', reason: `audit ${i}`, ttlSeconds: 60 },
      });
      expect(res.status).toBe(201);
    }
  };
  const verify = async () => (await stack.call('GET', '/v1/audit/verify', { token: admin })).body;
  const checkpoints = async () =>
    (await stack.call('GET', '/v1/audit/checkpoints', { token: admin })).body.checkpoints as {
      seq: number;
      hash: string;
      jws: string;
    }[];
  const headSeq = async () => Number(((await redis.get(HEAD)) ?? '0:').split(':')[0]);
  const exported = () =>
    readdirSync(exportDir)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(exportDir, f), 'utf8').split('\n').filter(Boolean))
      .map((l) => JSON.parse(l) as { seq: number; action: string; details?: Record<string, unknown> });
  const sinkCaughtUp = async () => {
    const head = await headSeq();
    await eventually(async () => {
      const sinks = (await stack.call('GET', '/v1/audit/sinks', { token: admin })).body.sinks as { ackedSeq: number }[];
      expect(sinks[0].ackedSeq).toBeGreaterThanOrEqual(head);
    });
  };

  async function snapshot(): Promise<Snapshot> {
    const rows = await redis.xrange(STREAM, '-', '+');
    return {
      events: rows.map(([id, f]) => [id, f[1]]),
      head: await redis.get(HEAD),
      anchor: await redis.get(ANCHOR),
      checkpoints: await redis.lrange(CHECKPOINTS, 0, -1),
    };
  }
  async function restore(s: Snapshot): Promise<void> {
    const tx = redis.multi().del(STREAM, HEAD, ANCHOR, CHECKPOINTS);
    s.events.forEach(([id, json]) => tx.xadd(STREAM, id, 'event', json));
    if (s.head) {tx.set(HEAD, s.head);}
    if (s.anchor) {tx.set(ANCHOR, s.anchor);}
    if (s.checkpoints.length > 0) {tx.rpush(CHECKPOINTS, ...s.checkpoints);}
    await tx.exec();
  }

  it('makes checkpoints by count, without being asked, and writes each to the export sinks as it is made', async () => {
    await makeEvents(12);
    await eventually(async () => expect((await checkpoints()).length).toBeGreaterThan(0));
    const [cp] = await checkpoints();
    await sinkCaughtUp();
    const line = exported().find((e) => e.action === 'audit.checkpoint' && e.details?.seq === cp.seq);
    expect(line?.details).toMatchObject({ seq: cp.seq, hash: cp.hash, jws: cp.jws });
    expect((await verify()).ok).toBe(true);
  });

  it('uses only signed checkpoint values: a rewritten chain with matching unsigned checkpoint fields is a failure', async () => {
    const saved = await snapshot();
    try {
      const [cp] = await checkpoints();
      // Rewrite event 2 and re-chain everything after it (the chain hashes need no secret).
      let prev: ChainPoint | undefined;
      const rewritten = saved.events.map(([, json]) => {
        const { hash: _h, prevHash: _p, ...event } = JSON.parse(json) as Record<string, unknown> & { seq: number };
        const body = event.seq === 2 ? { ...event, actor: { id: 'someone-else', channel: 'api' } } : event;
        const chained = chainEvent(body, prev);
        prev = { seq: chained.seq, hash: chained.hash };
        return chained;
      });
      const bySeq = new Map(rewritten.map((e) => [e.seq, e.hash]));
      const tx = redis.multi().del(STREAM, CHECKPOINTS);
      rewritten.forEach((e) => tx.xadd(STREAM, `${e.seq}-0`, 'event', JSON.stringify(e)));
      tx.set(HEAD, `${prev!.seq}:${prev!.hash}`);
      // The attacker also rewrites the stored checkpoints' plain fields; only the JWS stays as signed.
      const forgedList = saved.checkpoints.map((raw) => {
        const c = JSON.parse(raw) as { seq: number; hash: string };
        return JSON.stringify({ ...c, hash: bySeq.get(c.seq) });
      });
      tx.rpush(CHECKPOINTS, ...forgedList);
      await tx.exec();
      const v = await verify();
      expect(v.ok).toBe(false);
      expect(v.broken).toMatchObject({ seq: cp.seq, reason: 'checkpoint_mismatch' });
    } finally {
      await restore(saved);
    }
    expect((await verify()).ok).toBe(true);
  });

  it('refuses a checkpoint whose JWS is not signed by the broker (API and leash audit verify)', async () => {
    const saved = await snapshot();
    try {
      const head = (await redis.get(HEAD))!.split(':');
      const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const payload = { iss: 'http://127.0.0.1', seq: Number(head[0]) + 100, hash: 'f'.repeat(64), iat: 1 };
      const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: 'EdDSA', kid: 'attacker', typ: 'leash-audit-checkpoint+jwt' })
        .sign(privateKey);
      await redis.lpush(
        CHECKPOINTS,
        JSON.stringify({
          seq: payload.seq,
          hash: payload.hash,
          time: new Date().toISOString(),
          kid: 'attacker',
          alg: 'EdDSA',
          jws,
        }),
      );
      const v = await verify();
      expect(v).toMatchObject({ ok: false, broken: { reason: 'checkpoint_invalid' } });
      const cli = await leash(['audit', 'verify'], { LEASH_URL: stack.url, LEASH_TOKEN: admin });
      expect(cli.code).not.toBe(0);
      expect(cli.stderr).toContain('checkpoint signature invalid');
    } finally {
      await restore(saved);
    }
    expect((await verify()).ok).toBe(true);
  });

  it('reports events deleted after the last checkpoint, even with the head pointer rewound', async () => {
    await makeEvents(3);
    await sinkCaughtUp();
    const [cp] = await checkpoints();
    const saved = await snapshot();
    expect(await headSeq()).toBeGreaterThan(cp.seq);
    try {
      // Delete every event after the last checkpoint: the chain still ends on the signed head.
      const tail = saved.events.filter(([id]) => Number(id.split('-')[0]) > cp.seq).map(([id]) => id);
      await redis.xdel(STREAM, ...tail);
      let v = await verify();
      expect(v).toMatchObject({ ok: false, broken: { reason: 'truncated', seq: cp.seq + 1 } });
      expect(v.broken.detail).toContain('head pointer');
      // The attacker also rewinds the head pointer: the export sink's acknowledgement still tells.
      await redis.set(HEAD, `${cp.seq}:${cp.hash}`);
      v = await verify();
      expect(v).toMatchObject({ ok: false, broken: { reason: 'truncated', seq: cp.seq + 1 } });
      expect(v.broken.detail).toContain('export sink');
    } finally {
      await restore(saved);
    }
    expect((await verify()).ok).toBe(true);
  });

  it('reports a moved anchor that dropped events younger than the retention period', async () => {
    const made = await stack.call('POST', '/v1/audit/checkpoints', { token: admin });
    expect(made.status).toBe(201);
    await makeEvents(1);
    const saved = await snapshot();
    try {
      const cp = made.body as { seq: number; hash: string };
      await redis.xtrim(STREAM, 'MINID', `${cp.seq + 1}-0`);
      await redis.set(ANCHOR, `${cp.seq}:${cp.hash}`);
      const v = await verify();
      expect(v).toMatchObject({ ok: false, broken: { reason: 'anchor_moved', seq: cp.seq } });
    } finally {
      await restore(saved);
    }
    expect((await verify()).ok).toBe(true);
  });
  it('leaks no issued secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
