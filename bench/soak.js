'use strict';
// Issue 19 target 5, soak: API and worker memory sampled during a mixed load (issue, approve, revoke, expire) of
// BENCH_SOAK_SECONDS (600 full, 20 tiny).
//
// A garbage-collected process's RSS is a sawtooth: it climbs between collections and falls after them, and V8 gives
// old-generation pages back to the system only when it shrinks the heap, so neither raw samples nor per-window
// minima (the earlier method: ±13 MiB/min over 10 minutes) can tell a leak of 1 MiB/min. So the bench starts both
// processes with `--inspect=127.0.0.1:0` (the bench only; nothing is added to the product) and, every
// BENCH_SOAK_GC_SECONDS (15 full, 2 tiny), forces a full collection from outside over the inspector protocol
// (`HeapProfiler.collectGarbage`: V8's low-memory notification, which also compacts and releases free pages) and
// reads `process.memoryUsage()` right after it (`Runtime.evaluate`): RSS, heapUsed, external and arrayBuffers as
// they are with nothing collectable left. The verdict is on the least-squares slope of RSS after GC over the samples
// after the warm-up (first fifth), with its 95 % confidence interval (Student's t, widened for the samples'
// lag-1 autocorrelation): flat = the whole interval within ±BOUND MiB/min, for both processes. The same slope is
// reported for heapUsed, external and arrayBuffers after GC; the raw RSS samples (/proc, every second) stay as an
// info row. The forced collections pause each process (0.1–1 s, depending on the machine's load) every 15 s: the
// load is measured with them. BENCH_SOAK_ENV="K=V,…" sets extra environment for both processes (e.g.
// MALLOC_ARENA_MAX=2).
//
// BENCH_SOAK_SNAPSHOTS=1 also starts both processes with --heapsnapshot-signal and writes a heap snapshot (which
// collects garbage first) at the end of the warm-up and 8 s after the load, then lists the constructors whose
// objects grew most between the two: what a leak is made of. BENCH_SOAK_SAMPLES=FILE writes every sample as JSON.
// Writing a snapshot stops a process for seconds and leaves its RSS higher, so the load pauses meanwhile and the
// RSS rows of such a run are not comparable: it is for diagnosis.
const { readdirSync, statSync, readFileSync, mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { request, devToken, rssKb, slope, fmt } = require('./lib');

// 1 MiB/min: a leak of 250 bytes per operation at the ~70 operations/s of this load would already exceed it.
const BOUND_MIB_PER_MIN = 1;

async function call(url, method, path, token, body) {
  const res = await request(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}` }, body });
  if (res.status >= 300) {
    throw new Error(`${method} ${path}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
  }
  return res.json();
}

/** One step of the mix; `i` picks the kind. Returns the kind. */
async function step(url, tokens, i) {
  const kind = ['expire', 'expire', 'revoke', 'approve', 'expire'][i % 5];
  if (kind === 'approve') {
    const req = await call(url, 'POST', '/v1/requests', tokens.agent, {
      role: 'demo-prod-write',
      environment: 'production',
      ttlSeconds: 5,
      reason: 'soak',
    });
    await call(url, 'POST', `/v1/requests/${req.id}/approve`, tokens.alice, {});
    await call(url, 'POST', `/v1/requests/${req.id}/credentials`, tokens.agent);
    return kind;
  }
  const ttlSeconds = kind === 'expire' ? 5 : 600;
  const req = await call(url, 'POST', '/v1/requests', tokens.agent, {
    role: 'demo-staging-read',
    environment: 'staging',
    ttlSeconds,
    reason: 'soak',
  });
  const claim = await call(url, 'POST', `/v1/requests/${req.id}/credentials`, tokens.agent);
  if (kind === 'revoke') {
    await call(url, 'DELETE', `/v1/leases/${claim.lease.id}`, tokens.admin);
  }
  return kind;
}

/**
 * A Chrome DevTools Protocol session with one process's inspector (started with --inspect=127.0.0.1:0, so the kernel
 * picks a free port and no other process can hold it): its WebSocket URL is the one it printed at start; commands go
 * over the `ws` client. Loopback only, this bench only.
 */
async function inspect(child) {
  const WebSocket = require('ws');
  const url = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(child.startupOutput ?? '')?.[1];
  if (!url) {
    throw new Error(`no inspector URL in the output of pid ${child.pid}`);
  }
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let nextId = 0;
  const pending = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data));
    const p = pending.get(msg.id);
    if (p) {
      pending.delete(msg.id);
      if (msg.error) {
        p.reject(new Error(`${p.method}: ${msg.error.message}`));
      } else {
        p.resolve(msg.result);
      }
    }
  });
  ws.on('close', () => {
    for (const p of pending.values()) {
      p.reject(new Error('inspector closed'));
    }
    pending.clear();
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      nextId += 1;
      pending.set(nextId, { resolve, reject, method });
      ws.send(JSON.stringify({ id: nextId, method, params }));
    });
  return {
    /** Full GC, then process.memoryUsage() (MiB) and how long the collection took (ms). */
    async afterGc() {
      const t = performance.now();
      await send('HeapProfiler.collectGarbage');
      const gcMs = performance.now() - t;
      const { result } = await send('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      });
      const m = JSON.parse(result.value);
      const mib = (x) => x / 2 ** 20;
      return {
        rss: mib(m.rss),
        heap: mib(m.heapUsed),
        heapTotal: mib(m.heapTotal),
        external: mib(m.external),
        arrayBuffers: mib(m.arrayBuffers),
        gcMs,
      };
    },
    close: () => ws.close(),
  };
}

// Two-sided 97.5 % quantiles of Student's t for 1..12 degrees of freedom (more: ≈ 2.1 down to 1.96).
const T975 = [12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.2, 2.18];

/**
 * Least-squares slope of ys over xs with the half-width of its 95 % confidence interval. Samples a few seconds apart
 * are not independent (a process's RSS after GC moves in steps that last several samples), so the standard error is
 * widened by sqrt((1 + r) / (1 − r)) for the residuals' lag-1 autocorrelation r > 0 (the AR(1) effective sample
 * size); `r` is returned.
 */
function fit(xs, ys) {
  const pts = xs.map((x, i) => [x, ys[i]]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const n = pts.length;
  const b = slope(
    pts.map((p) => p[0]),
    pts.map((p) => p[1]),
  );
  if (n < 3 || !Number.isFinite(b)) {
    return { slope: b, ci: NaN, n, r: NaN };
  }
  const mx = pts.reduce((a, p) => a + p[0], 0) / n;
  const my = pts.reduce((a, p) => a + p[1], 0) / n;
  const sxx = pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  const res = pts.map(([x, y]) => y - (my + b * (x - mx)));
  const sse = res.reduce((a, e) => a + e * e, 0);
  const r = sse === 0 ? 0 : res.slice(1).reduce((a, e, i) => a + e * res[i], 0) / sse;
  const widen = r > 0 ? Math.sqrt((1 + r) / (1 - Math.min(r, 0.95))) : 1;
  const t = T975[n - 3] ?? (n < 30 ? 2.1 : 1.96);
  return { slope: b, ci: t * Math.sqrt(sse / (n - 2) / sxx) * widen, n, r };
}

/** SIGUSR2 → a heap snapshot in `dir` (the process was started with --heapsnapshot-signal); waits until written. */
async function snapshot(child, dir) {
  const before = new Set(readdirSync(dir));
  child.kill('SIGUSR2');
  for (let i = 0; i < 600; i += 1) {
    await new Promise((r) => setTimeout(r, 500));
    const file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (file) {
      const path = join(dir, file);
      const size = statSync(path).size;
      await new Promise((r) => setTimeout(r, 1000));
      if (statSync(path).size === size && size > 0) {
        try {
          JSON.parse(readFileSync(path, 'utf8'));
          return path;
        } catch {
          // still being written
        }
      }
    }
  }
  throw new Error(`no heap snapshot in ${dir}`);
}

/** Objects per constructor (count, self bytes) of a .heapsnapshot. */
function byConstructor(path) {
  const snap = JSON.parse(readFileSync(path, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const out = new Map();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + iType]];
    const name = type === 'object' || type === 'closure' ? snap.strings[snap.nodes[i + iName]] : `(${type})`;
    const cur = out.get(name) ?? { count: 0, bytes: 0 };
    cur.count += 1;
    cur.bytes += snap.nodes[i + iSize];
    out.set(name, cur);
  }
  return out;
}

function heapGrowth(firstPath, lastPath) {
  const a = byConstructor(firstPath);
  const b = byConstructor(lastPath);
  return [...b.entries()]
    .map(([name, v]) => ({
      name,
      count: v.count - (a.get(name)?.count ?? 0),
      bytes: v.bytes - (a.get(name)?.bytes ?? 0),
      total: v.bytes,
    }))
    .sort((x, y) => y.bytes - x.bytes)
    .slice(0, 12);
}

const SERIES = ['rss', 'heap', 'external', 'arrayBuffers'];

async function runSoak(ctx) {
  const seconds = ctx.num('BENCH_SOAK_SECONDS', 20, 600);
  const gcEvery = ctx.num('BENCH_SOAK_GC_SECONDS', 2, 15);
  const snapshots = process.env.BENCH_SOAK_SNAPSHOTS === '1';
  const env = Object.fromEntries(
    (process.env.BENCH_SOAK_ENV ?? '')
      .split(',')
      .filter((kv) => kv.includes('='))
      .map((kv) => kv.split(/=(.*)/s).slice(0, 2)),
  );
  const heapDir = join(ctx.artifacts, 'heap-soak');
  const dirs = { api: join(heapDir, 'api'), worker: join(heapDir, 'worker') };
  if (snapshots) {
    Object.values(dirs).forEach((d) => mkdirSync(d, { recursive: true }));
  }
  const flags = (which) => [
    '--inspect=127.0.0.1:0',
    ...(snapshots ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dirs[which]}`] : []),
  ];
  const concurrency = 4;
  const stack = await ctx.startStack({ env, nodeArgs: flags('api'), workerNodeArgs: flags('worker') });
  const inspectors = { api: await inspect(stack.api), worker: await inspect(stack.worker) };
  const tokens = {
    agent: await devToken(stack.url, 'agent-soak'),
    alice: await devToken(stack.url, 'alice'),
    admin: await devToken(stack.url, 'admin'),
  };
  const raw = [];
  const gc = [];
  const t0 = Date.now();
  const minute = () => (Date.now() - t0) / 60000;
  // Raw RSS from /proc every second (cheap); a forced-GC sample every gcEvery seconds, one at a time (a tick that
  // finds the previous one still running, on a loaded machine, is skipped).
  const rawTimer = setInterval(
    () => {
      try {
        raw.push({ t: minute(), api: rssKb(stack.api.pid) / 1024, worker: rssKb(stack.worker.pid) / 1024 });
      } catch {
        // process gone: the load's errors say so
      }
    },
    ctx.pick(250, 1000),
  );
  let sampling;
  const gcSample = () => {
    sampling ??= (async () => {
      const t = minute();
      const [api, worker] = await Promise.all([inspectors.api.afterGc(), inspectors.worker.afterGc()]);
      gc.push({ t, api, worker });
    })()
      .catch((err) => ctx.log(`soak: GC sample failed: ${err.message}`))
      .finally(() => {
        sampling = undefined;
      });
    return sampling;
  };
  await gcSample();
  const gcTimer = setInterval(gcSample, gcEvery * 1000);
  const counts = { expire: 0, revoke: 0, approve: 0 };
  let errors = 0;
  let firstError;
  let next = 0;
  const snaps = { api: [], worker: [] };
  const end = t0 + seconds * 1000;
  const warmEnd = t0 + (seconds * 1000) / 5;
  // Snapshot mode pauses the load while a snapshot is written (it stops the process for seconds).
  let gate = Promise.resolve();
  let inFlight = 0;
  const snapshotBoth = async () => {
    let open;
    gate = new Promise((r) => (open = r));
    while (inFlight > 0) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await Promise.all([
      snapshot(stack.api, dirs.api).then((p) => snaps.api.push(p)),
      snapshot(stack.worker, dirs.worker).then((p) => snaps.worker.push(p)),
    ]);
    open();
  };
  try {
    await Promise.all([
      ...Array.from({ length: concurrency }, async () => {
        while (Date.now() < end) {
          await gate;
          inFlight += 1;
          try {
            counts[await step(stack.url, tokens, next++)] += 1;
          } catch (err) {
            errors += 1;
            firstError ??= String(err.message).slice(0, 200);
          } finally {
            inFlight -= 1;
          }
        }
      }),
      (async () => {
        if (snapshots) {
          await new Promise((r) => setTimeout(r, warmEnd - Date.now()));
          await snapshotBoth();
        }
      })(),
    ]);
  } finally {
    clearInterval(rawTimer);
    clearInterval(gcTimer);
  }
  await sampling;
  await gcSample();
  if (snapshots) {
    // Let the last leases expire and be revoked, so the second snapshot holds no more in-flight work than the first.
    await new Promise((r) => setTimeout(r, 8000));
    await snapshotBoth();
  }
  inspectors.api.close();
  inspectors.worker.close();
  if (process.env.BENCH_SOAK_SAMPLES) {
    writeFileSync(process.env.BENCH_SOAK_SAMPLES, JSON.stringify({ env, gcEvery, gc, raw }));
  }
  const warmFrom = gc[gc.length - 1].t / 5;
  const warm = gc.filter((s) => s.t >= warmFrom);
  const xs = warm.map((s) => s.t);
  const after = {};
  for (const proc of ['api', 'worker']) {
    after[proc] = Object.fromEntries(
      SERIES.map((k) => [
        k,
        fit(
          xs,
          warm.map((s) => s[proc][k]),
        ),
      ]),
    );
  }
  const rawWarm = raw.filter((s) => s.t >= warmFrom);
  const rawSlope = Object.fromEntries(
    ['api', 'worker'].map((proc) => [
      proc,
      slope(
        rawWarm.map((s) => s.t),
        rawWarm.map((s) => s[proc]),
      ),
    ]),
  );
  const gcMs = Object.fromEntries(
    ['api', 'worker'].map((proc) => {
      const ms = warm.map((s) => s[proc].gcMs).sort((x, y) => x - y);
      return [proc, { median: ms[Math.floor(ms.length / 2)], max: ms[ms.length - 1] }];
    }),
  );
  const growth = snapshots
    ? { api: heapGrowth(snaps.api[0], snaps.api[1]), worker: heapGrowth(snaps.worker[0], snaps.worker[1]) }
    : undefined;
  return {
    seconds,
    gcEvery,
    env,
    concurrency,
    gc,
    warm,
    raw,
    rawSlope,
    after,
    gcMs,
    counts,
    errors,
    firstError,
    snaps,
    growth,
  };
}

module.exports = { runSoak, BOUND_MIB_PER_MIN, fit };

const ci = (f) => `${fmt(f.slope, 3)} ± ${fmt(f.ci, 3)}`;
/** The largest |slope| the 95 % interval allows: flat when ≤ the bound. */
const upper = (f) => Math.abs(f.slope) + f.ci;

function growthTable(rows) {
  return `| constructor | objects added | bytes added | bytes at the end |
|---|---|---|---|
${rows.map((g) => `| \`${g.name.slice(0, 60).replace(/\|/g, '\\|')}\` | ${g.count} | ${g.bytes} | ${g.total} |`).join('\n')}`;
}

module.exports.scenario = {
  name: 'soak',
  order: 50,
  title: 'Soak: API and worker RSS under a mixed load (issue 19 target 5)',
  async run(ctx) {
    const r = await runSoak(ctx);
    const { row } = ctx;
    const every = Math.max(1, Math.floor(r.warm.length / 24));
    const shown = r.warm.filter((_, i) => i % every === 0);
    const ops = r.counts.expire + r.counts.revoke + r.counts.approve;
    const note = (f) =>
      `signed slope ${fmt(f.slope, 3)} ± ${fmt(f.ci, 3)} MiB/min (95 % CI) over ${f.n} samples, lag-1 autocorrelation ${fmt(f.r, 2)}`;
    const envText = Object.keys(r.env).length
      ? ` Extra environment of both processes: ${Object.entries(r.env)
          .map(([k, v]) => `\`${k}=${v}\``)
          .join(', ')}.`
      : '';
    const line = (proc) => {
      const a = r.after[proc];
      const first = r.warm[0][proc];
      const last = r.warm[r.warm.length - 1][proc];
      return `| ${proc === 'api' ? 'API' : 'worker'} | ${ci(a.rss)} | ${ci(a.heap)} | ${ci(a.external)} | ${ci(a.arrayBuffers)} | ${fmt(r.rawSlope[proc], 2)} | ${fmt(first.rss, 0)} / ${fmt(last.rss, 0)} | ${fmt(first.heap, 1)} / ${fmt(last.heap, 1)} | ${fmt(r.gcMs[proc].median, 0)} / ${fmt(r.gcMs[proc].max, 0)} |`;
    };
    return {
      rows: [
        row('5. API RSS slope after a forced full GC: 95 % upper bound of |slope|', upper(r.after.api.rss), {
          unit: 'MiB/min',
          op: '<=',
          goal: BOUND_MIB_PER_MIN,
          note: note(r.after.api.rss),
        }),
        row('5. worker RSS slope after a forced full GC: 95 % upper bound of |slope|', upper(r.after.worker.rss), {
          unit: 'MiB/min',
          op: '<=',
          goal: BOUND_MIB_PER_MIN,
          note: note(r.after.worker.rss),
        }),
        row('5. API heapUsed after GC: slope', r.after.api.heap.slope, { unit: 'MiB/min', note: ci(r.after.api.heap) }),
        row('5. worker heapUsed after GC: slope', r.after.worker.heap.slope, {
          unit: 'MiB/min',
          note: ci(r.after.worker.heap),
        }),
        row('5. API external memory after GC: slope', r.after.api.external.slope, {
          unit: 'MiB/min',
          note: ci(r.after.api.external),
        }),
        row('5. worker external memory after GC: slope', r.after.worker.external.slope, {
          unit: 'MiB/min',
          note: ci(r.after.worker.external),
        }),
        row('5. API raw RSS samples: slope (sawtooth)', r.rawSlope.api, { unit: 'MiB/min' }),
        row('5. worker raw RSS samples: slope (sawtooth)', r.rawSlope.worker, { unit: 'MiB/min' }),
        row('5. soak operations that failed', r.errors, { op: '<=', goal: 0 }),
      ],
      markdown: `${r.seconds} s of mixed load, ${r.concurrency} clients in a closed loop: ${ops} operations (${fmt(ops / r.seconds)}/s) — ${r.counts.expire} issuances of 5 s leases left to expire (the worker revokes them), ${r.counts.revoke} issuances revoked at once with \`DELETE /v1/leases/:id\`, ${r.counts.approve} production requests approved by a human through the API and claimed (5 s leases); ${r.errors} errors${r.firstError ? ` (first: ${r.firstError})` : ''}.${envText}
Every ${r.gcEvery} s both processes were made to run a full GC over their inspector (\`HeapProfiler.collectGarbage\`, both started with \`--inspect\` on loopback by the bench) and \`process.memoryUsage()\` was read right after it; ${r.gc.length} such samples, ${r.warm.length} after the warm-up (first fifth). Slopes: least squares over those, ± the half-width of the 95 % confidence interval (Student's t, widened for lag-1 autocorrelation). Flat: the whole interval of the RSS slope within ±${BOUND_MIB_PER_MIN} MiB/min.

| | RSS after GC (MiB/min) | heapUsed after GC | external after GC | arrayBuffers after GC | raw RSS slope (sawtooth) | RSS after GC, first / last (MiB) | heapUsed after GC, first / last (MiB) | forced GC ms, median / max |
|---|---|---|---|---|---|---|---|---|
${line('api')}
${line('worker')}

After-GC samples (minute: API RSS / heapUsed / external, worker RSS / heapUsed / external, MiB): ${shown.map((s) => `${fmt(s.t, 1)}: ${fmt(s.api.rss, 0)}/${fmt(s.api.heap, 0)}/${fmt(s.api.external, 1)}, ${fmt(s.worker.rss, 0)}/${fmt(s.worker.heap, 0)}/${fmt(s.worker.external, 1)}`).join('; ')}
${
  r.growth
    ? `
Heap snapshots (each after a full GC) at the end of the warm-up and 8 s after the load: ${r.snaps.api.join(', ')}; ${r.snaps.worker.join(', ')}. Constructors that grew most in between:

API:

${growthTable(r.growth.api)}

Worker:

${growthTable(r.growth.worker)}
`
    : ''
}`,
    };
  },
};
