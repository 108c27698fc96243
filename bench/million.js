'use strict';
// Issue 19 target 3, a million leases: N active jwt leases written through the store (the Lua scripts a claim
// runs: request, claim intent, lease record), pipelined in batches of 1,000; then, on top of them:
// - a storm of leases expiring evenly over a window: revocation lag p50/p99/max (goal p99 ≤ 500 ms, none missed);
// - the worker SIGKILLed and restarted while leases fall due: time from its restart to the first revocation (< 5 s);
// - the API restarted: time from its spawn to the first 201 of POST /v1/requests (< 2 s), and to a full issuance;
// - Redis used_memory in total and per active lease;
// - GET /v1/leases (first page) and break glass over every lease: time, and whether the page is bounded.
// Every step that fails gives an `error` row; the rest of the scenario still runs.
const { join } = require('node:path');
const { ROOT, percentile, request, devToken, fmt, recordActiveLease } = require('./lib');

const PREFIX = '{leash}';
const load = (path) => require(join(ROOT, 'dist', path));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ROLE = { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 3600, reason: 'bench' };

function clients(redisUrl) {
  const { RedisLeaseStore } = load('libs/leases/src/index.js');
  const { createRedisClient } = load('libs/broker/src/index.js');
  const { BullmqRevocationScheduler } = load('libs/broker/src/revocation/bullmq-revocation-scheduler.adapter.js');
  const config = { mode: 'standalone', url: redisUrl, prefix: PREFIX, minReplicas: 0, replicaTimeoutMs: 2000 };
  const connect = () =>
    createRedisClient(config, { enableOfflineQueue: true, enableAutoPipelining: true, commandTimeout: 60000 });
  const redis = connect();
  const store = new RedisLeaseStore(redis, PREFIX, 86400);
  const scheduler = new BullmqRevocationScheduler(connect, { attempts: 5, backoffMs: 1000, prefix: PREFIX });
  return {
    redis,
    store,
    scheduler,
    async close() {
      await scheduler.close().catch(() => undefined);
      redis.disconnect();
    },
  };
}

/**
 * `count` active leases, `expiresAtOf(i)`, written as a claim writes them: request, claim intent, lease record.
 * Batches of `batch` leases, each step of a batch sent at once (auto-pipelined), `lanes` batches in flight.
 * `schedule`: also a revocation job at expiry, as a claim does for a lease due before the hand-over's horizon.
 * Returns the leases when `keep`, else [] (a million ids are not kept in the bench process).
 */
async function writeLeases(
  c,
  count,
  expiresAtOf,
  { schedule = false, keep = false, batch = 1000, lanes = 2, onProgress } = {},
) {
  const { RandomIdGenerator } = load('libs/core/src/index.js');
  const ids = new RandomIdGenerator();
  const kept = [];
  let next = 0;
  let done = 0;
  const one = (i) => {
    const now = Date.now();
    const principal = `agent-bench-${i % 100}`;
    const sessionId = `sess-${(i % 1000).toString().padStart(6, '0')}`;
    return {
      i,
      now,
      principal,
      sessionId,
      requestId: ids.requestId(),
      leaseId: ids.leaseId(),
      expiresAt: expiresAtOf(i),
    };
  };
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < count) {
        const start = next;
        next = Math.min(count, next + batch);
        const items = Array.from({ length: next - start }, (_, k) => one(start + k));
        await Promise.all(items.map((l) => recordActiveLease(c.store, l)));
        if (schedule) {
          await c.scheduler.scheduleDue(
            items.map((l) => ({ id: l.leaseId, expiresAt: l.expiresAt })),
            Date.now(),
          );
        }
        if (keep) {
          items.forEach((l) => kept.push({ leaseId: l.leaseId, expiresAt: l.expiresAt }));
        }
        done += items.length;
        onProgress?.(done);
      }
    }),
  );
  return kept;
}

async function usedMemory(redis) {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
}

/** Lag (revokedAt − expiresAt) of `leases`, read from their records; `missed` = not revoked. */
async function lagOf(redis, leases) {
  const lags = [];
  let missed = 0;
  let firstRevokedAt = Infinity;
  for (let i = 0; i < leases.length; i += 1000) {
    const slice = leases.slice(i, i + 1000);
    const rows = await Promise.all(slice.map((l) => redis.hmget(`${PREFIX}:lease:${l.leaseId}`, 'state', 'revokedAt')));
    rows.forEach(([state, revokedAt], j) => {
      if (state !== 'revoked') {
        missed += 1;
      } else {
        lags.push(Number(revokedAt) - slice[j].expiresAt);
        firstRevokedAt = Math.min(firstRevokedAt, Number(revokedAt));
      }
    });
  }
  lags.sort((a, b) => a - b);
  return {
    count: leases.length,
    missed,
    p50: percentile(lags, 50),
    p99: percentile(lags, 99),
    max: lags[lags.length - 1],
    firstRevokedAt,
  };
}

/** Waits until every lease is revoked or `deadline` passes. */
async function waitRevoked(redis, leases, deadline) {
  for (;;) {
    const lag = await lagOf(redis, leases);
    if (lag.missed === 0 || Date.now() >= deadline) {
      return lag;
    }
    await sleep(250);
  }
}

async function issueFirst(url, token, deadline) {
  let requestAt;
  let lastStatus;
  while (Date.now() < deadline) {
    const created = await request(`${url}/v1/requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: ROLE,
    }).catch((err) => ({ status: 0, text: String(err.message) }));
    lastStatus = `${created.status} ${created.text.slice(0, 120)}`;
    if (created.status !== 201) {
      await sleep(20);
      continue;
    }
    requestAt ??= Date.now();
    const claim = await request(`${url}/v1/requests/${created.json().id}/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    lastStatus = `${claim.status} ${claim.text.slice(0, 120)}`;
    if (claim.status === 201) {
      return { requestAt, issuedAt: Date.now() };
    }
    await sleep(20);
  }
  throw new Error(`no issuance before the deadline (last answer ${lastStatus})`);
}

async function step(rows, name, fn) {
  try {
    await fn();
  } catch (err) {
    rows.push({
      target: `3. ${name}: step failed`,
      measured: String(err.message).split('\n')[0].slice(0, 200),
      unit: '',
      goal: '',
      ratio: null,
      verdict: 'error',
    });
  }
}

async function runMillion(ctx, stack, o) {
  const { row } = ctx;
  const rows = [];
  const facts = { ...o };
  const c = clients(stack.redisUrl);
  try {
    // Production Redis keeps its default hash encoding limits (the bench stack raises this one): as bench/memory.js.
    await c.redis.config('SET', 'hash-max-listpack-value', '64');
    const admin = await devToken(stack.url, 'admin');
    const agent = await devToken(stack.url, 'agent-bench');

    await step(rows, 'set-up of the active leases', async () => {
      const before = await usedMemory(c.redis);
      const t0 = Date.now();
      let logged = 0;
      // Far from expiry (4 h to 8 h, spread), so the hand-over leaves them in the expiry index without a job.
      const far = Date.now() + 4 * 3600_000;
      await writeLeases(c, o.active, (i) => far + Math.floor((i * 4 * 3600_000) / o.active), {
        lanes: o.lanes,
        onProgress: (n) => {
          if (n - logged >= 100000) {
            logged = n;
            ctx.log(`${n.toLocaleString('en')} leases written (${fmt((Date.now() - t0) / 1000)} s)`);
          }
        },
      });
      facts.setupSeconds = (Date.now() - t0) / 1000;
      facts.usedMemory = await usedMemory(c.redis);
      facts.bytesPerLease = (facts.usedMemory - before) / o.active;
      facts.activeInIndex = await c.redis.zcard(`${PREFIX}:leases:expiry`);
      facts.jobsForActive = await c.redis.zcard(`${PREFIX}:bull:leash-revocations:delayed`);
      rows.push(
        row('3. set-up: leases written per second (store, pipelined)', o.active / facts.setupSeconds, {
          unit: '/s',
          note: `${o.active.toLocaleString('en')} in ${fmt(facts.setupSeconds)} s`,
        }),
      );
      rows.push(row('3. active leases in the expiry index', facts.activeInIndex, { op: '>=', goal: o.active }));
      rows.push(row('3. Redis used_memory in total', facts.usedMemory / 2 ** 20, { unit: 'MiB' }));
      rows.push(
        row('3. Redis bytes per active lease (used_memory delta ÷ leases)', facts.bytesPerLease, {
          unit: 'B',
          op: '<=',
          goal: 1024,
        }),
      );
    });

    await step(rows, 'revocation storm', async () => {
      const stormStart = Date.now() + o.leadMs + o.storm * 2;
      const leases = await writeLeases(
        c,
        o.storm,
        (i) => stormStart + Math.floor((i * o.windowSeconds * 1000) / o.storm),
        { schedule: true, keep: true },
      );
      facts.stormLateWrites = leases.filter((l) => l.expiresAt < Date.now()).length;
      while (Date.now() < stormStart + o.windowSeconds * 1000) {
        await sleep(250);
      }
      const lag = await waitRevoked(c.redis, leases, Date.now() + o.settleMs);
      facts.storm = lag;
      rows.push(
        row(`3. storm of ${o.storm.toLocaleString('en')} over ${o.windowSeconds} s: revocation lag p50`, lag.p50, {
          unit: 'ms',
        }),
      );
      rows.push(row('3. storm: revocation lag p99', lag.p99, { unit: 'ms', op: '<=', goal: 500 }));
      rows.push(row('3. storm: revocation lag max', lag.max, { unit: 'ms' }));
      rows.push(row('3. storm: leases not revoked', lag.missed, { op: '<=', goal: 0 }));
    });

    await step(rows, 'worker restart', async () => {
      // SIGKILL the worker; leases fall due while none runs; time from the new worker's spawn to the first revocation.
      stack.worker.removeAllListeners('exit');
      stack.worker.kill('SIGKILL');
      const due = Date.now() + 1000;
      const leases = await writeLeases(c, o.restartLeases, (i) => due + Math.floor((i * 1000) / o.restartLeases), {
        schedule: true,
        keep: true,
      });
      while (Date.now() < due + 1500) {
        await sleep(100);
      }
      const spawnedAt = Date.now();
      await stack.startWorker();
      facts.workerReadyMs = Date.now() - spawnedAt;
      const lag = await waitRevoked(c.redis, leases, Date.now() + 30000);
      facts.workerRestart = lag;
      facts.workerResumeMs = lag.firstRevokedAt - spawnedAt;
      rows.push(
        row('3. worker restart → revocations resume (spawn → first revocation)', facts.workerResumeMs, {
          unit: 'ms',
          op: '<=',
          goal: 5000,
        }),
      );
      rows.push(
        row('3. worker restart: leases due while it was down, not revoked 30 s later', lag.missed, {
          op: '<=',
          goal: 0,
        }),
      );
    });

    await step(rows, 'API restart', async () => {
      await stack.stopProcess(stack.api);
      const spawnedAt = Date.now();
      const started = stack.startApi();
      started.catch(() => undefined);
      // Poll from the spawn on: connection refused until it listens.
      const first = await issueFirst(stack.url, agent, spawnedAt + 60000);
      await started;
      facts.apiFirst201Ms = first.requestAt - spawnedAt;
      facts.apiFirstIssuanceMs = first.issuedAt - spawnedAt;
      rows.push(
        row('3. API restart → first 201 (spawn → POST /v1/requests 201)', facts.apiFirst201Ms, {
          unit: 'ms',
          op: '<=',
          goal: 2000,
        }),
      );
      rows.push(
        row('3. API restart → first credential issued (request + claim 201)', facts.apiFirstIssuanceMs, { unit: 'ms' }),
      );
    });

    await step(rows, 'GET /v1/leases', async () => {
      const auth = { authorization: `Bearer ${admin}` };
      for (const [label, query] of [
        ['first page', '?limit=100'],
        ['active, first page', '?state=active&limit=100'],
      ]) {
        const t0 = performance.now();
        const res = await request(`${stack.url}/v1/leases${query}`, { headers: auth });
        const ms = performance.now() - t0;
        if (res.status !== 200) {
          throw new Error(`GET /v1/leases${query}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
        }
        const body = res.json();
        const count = (body.leases ?? body.items ?? []).length;
        facts[`list ${label}`] = { ms, count, bytes: res.text.length, keys: Object.keys(body) };
        rows.push(row(`3. GET /v1/leases ${label}: time`, ms, { unit: 'ms' }));
        rows.push(
          row(`3. GET /v1/leases ${label}: leases returned (bounded by limit=100)`, count, {
            op: '<=',
            goal: 100,
            note: `${res.text.length.toLocaleString('en')} B`,
          }),
        );
      }
    });

    await step(rows, 'break glass', async () => {
      const unrevokedBefore = await c.redis.zcard(`${PREFIX}:leases:expiry`);
      const t0 = Date.now();
      const call = request(`${stack.url}/v1/admin/revoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}` },
        body: { environment: 'staging', reason: 'bench: break glass over every lease' },
      });
      const outcome = await Promise.race([
        call.then((res) => ({ res })),
        sleep(o.breakGlassSeconds * 1000).then(() => ({ timeout: true })),
      ]);
      const ms = Date.now() - t0;
      const unrevokedAfter = await c.redis.zcard(`${PREFIX}:leases:expiry`);
      facts.breakGlass = { unrevokedBefore, unrevokedAfter, ms, finished: !outcome.timeout };
      if (outcome.timeout) {
        call.catch(() => undefined);
        const rate = (unrevokedBefore - unrevokedAfter) / (ms / 1000);
        facts.breakGlass.rate = rate;
        // Not finished within the wait: a failure whatever the ratio says.
        rows.push({
          ...row('3. break glass over every lease: time to finish', ms / 1000, {
            unit: 's',
            op: '<=',
            goal: o.breakGlassSeconds,
            note: `not finished when the bench stopped waiting: ${(unrevokedBefore - unrevokedAfter).toLocaleString('en')} of ${unrevokedBefore.toLocaleString('en')} revoked, ${fmt(rate, 0)}/s, ≈ ${fmt(unrevokedBefore / Math.max(rate, 1) / 60, 0)} min for all`,
          }),
          verdict: 'FAIL',
        });
        return;
      }
      const { res } = outcome;
      if (res.status !== 200 && res.status !== 202) {
        throw new Error(`POST /v1/admin/revoke: HTTP ${res.status} ${res.text.slice(0, 200)}`);
      }
      const body = res.json();
      facts.breakGlass.revoked = body.counts?.revokedLeases ?? body.revokedLeases?.length;
      facts.breakGlass.pending = body.counts?.pendingLeases ?? body.pendingLeases?.length;
      facts.breakGlass.responseBytes = res.text.length;
      rows.push(
        row('3. break glass over every lease: time to finish', ms / 1000, {
          unit: 's',
          note: `${fmt(unrevokedBefore / (ms / 1000), 0)} leases/s`,
        }),
      );
      rows.push(row('3. break glass: leases still unrevoked afterwards', unrevokedAfter, { op: '<=', goal: 0 }));
      rows.push(
        row('3. break glass: response size', res.text.length / 1024, { unit: 'KiB' }),
      );
    });
  } finally {
    await c.close();
  }
  return { rows, facts };
}

function section(f) {
  const lag = (l) =>
    l ? `${fmt(l.p50, 0)} / ${fmt(l.p99, 0)} / ${fmt(l.max, 0)} (missed ${l.missed} of ${l.count})` : 'n/a';
  const list = (k) =>
    f[k]
      ? `${fmt(f[k].ms, 0)} ms, ${f[k].count} leases, ${f[k].bytes.toLocaleString('en')} B, keys ${f[k].keys.join(', ')}`
      : 'n/a';
  const bg = f.breakGlass;
  return `${f.active.toLocaleString('en')} active jwt leases written through the store (request, claim intent, lease record: the claim's
Lua scripts; batches of 1,000 auto-pipelined, 2 in flight), expiring in 4–8 h (the hand-over leaves them without a job);
Redis on its default hash encoding limits. Then, with them all in place:

| metric | value |
|---|---|
| set-up (s) / Redis used_memory (MiB) / bytes per active lease | ${fmt(f.setupSeconds)} / ${fmt((f.usedMemory ?? NaN) / 2 ** 20, 0)} / ${fmt(f.bytesPerLease, 0)} |
| revocation jobs existing for the far-off leases | ${f.jobsForActive ?? 'n/a'} |
| storm of ${f.storm?.count ?? f.storm} over ${f.windowSeconds} s: lag p50 / p99 / max (ms) | ${lag(f.storm)}${f.stormLateWrites ? `; ${f.stormLateWrites} written after their expiry` : ''} |
| worker SIGKILLed, ${f.restartLeases} leases fall due, restarted: spawn → ready (ms) / → first revocation (ms) / lag | ${fmt(f.workerReadyMs, 0)} / ${fmt(f.workerResumeMs, 0)} / ${lag(f.workerRestart)} |
| API restarted (SIGTERM, spawn): → first 201 of POST /v1/requests (ms) / → first credential (ms) | ${fmt(f.apiFirst201Ms, 0)} / ${fmt(f.apiFirstIssuanceMs, 0)} |
| GET /v1/leases?limit=100 | ${list('list first page')} |
| GET /v1/leases?state=active&limit=100 | ${list('list active, first page')} |
| break glass \`POST /v1/admin/revoke {environment}\` | ${bg ? (bg.finished ? `finished in ${fmt(bg.ms / 1000)} s, ${bg.revoked} revoked, ${bg.pending} pending, ${bg.unrevokedAfter} left unrevoked, response ${fmt(bg.responseBytes / 1024, 1)} KiB` : `not finished after ${fmt(bg.ms / 1000)} s: ${(bg.unrevokedBefore - bg.unrevokedAfter).toLocaleString('en')} of ${bg.unrevokedBefore.toLocaleString('en')} revoked (${fmt(bg.rate, 0)}/s)`) : 'n/a'} |
`;
}

module.exports = { runMillion, writeLeases, clients, section };

module.exports.scenario = {
  name: 'million',
  order: 35,
  title: 'A million leases: storm lag, restarts, memory, listing and break glass (issue 19 target 3)',
  async run(ctx) {
    const stack = await ctx.startStack({ workerConcurrency: 100 });
    const o = {
      active: ctx.num('BENCH_MILLION_LEASES', 2000, 1000000),
      storm: ctx.num('BENCH_MILLION_STORM', 200, 10000),
      windowSeconds: ctx.pick(5, 20),
      leadMs: ctx.pick(2000, 5000),
      settleMs: ctx.pick(10000, 15000),
      restartLeases: ctx.pick(50, 1000),
      lanes: ctx.num('BENCH_MILLION_LANES', 2, 2),
      breakGlassSeconds: ctx.num('BENCH_MILLION_BREAK_GLASS_S', 30, 120),
    };
    const { rows, facts } = await runMillion(ctx, stack, o);
    return { rows, markdown: section(facts) };
  },
};
