'use strict';
// Issue 19 target 5, soak: API and worker memory sampled during a mixed load (issue, approve, revoke, expire) of
// BENCH_SOAK_SECONDS (600 full, 20 tiny).
//
// A garbage-collected process's RSS is a sawtooth: it climbs between collections and falls after them, so a slope
// over raw samples says more about where the window happened to end than about a leak (a 10-minute run once read
// +3.96 MiB/min on a sawtooth of 360–480 MiB). What a leak moves is the floor the process returns to after its
// collections. So, with nothing added to the processes (no --expose-gc): every sample reads RSS from /proc and
// V8's heapUsed and count of major (mark-compact) collections from the process's own Prometheus endpoint
// (prom-client default metrics); after the warm-up (first fifth) the samples are cut into windows (60 s, shorter
// when the run is: at least 4) and each window contributes its minimum — the post-GC floor when the window saw a major collection.
// The verdict is on the least-squares slope of those floors (MiB/min) with its 95 % confidence interval: flat =
// |slope| ≤ BOUND for both processes. The raw-sample slope stays as an info row.
//
// BENCH_SOAK_SNAPSHOTS=1 also starts both processes with --heapsnapshot-signal and writes a heap snapshot (which
// collects garbage first) at the end of the warm-up and 8 s after the load, then lists the constructors whose
// objects grew most between the two: what a leak is made of. BENCH_SOAK_SAMPLES=FILE writes every sample as JSON. Writing one stops a process for seconds and leaves its
// RSS higher, so the load pauses meanwhile and the RSS rows of such a run are not comparable: it is for diagnosis.
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

/** V8 heapUsed (MiB) and major collections so far, from a process's /metrics (prom-client default metrics). */
async function heapOf(metricsUrl) {
  try {
    const { text } = await request(metricsUrl);
    const heap = /^leash_nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text);
    const major = /^leash_nodejs_gc_duration_seconds_count\{[^}]*kind="major"[^}]*\} (\S+)$/m.exec(text);
    const total = /^leash_nodejs_heap_size_total_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text);
    const external = /^leash_nodejs_external_memory_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text);
    const mib = (m) => (m ? Number(m[1]) / 2 ** 20 : NaN);
    return { heap: mib(heap), major: major ? Number(major[1]) : 0, total: mib(total), external: mib(external) };
  } catch {
    return { heap: NaN, major: NaN, total: NaN, external: NaN };
  }
}

// Two-sided 97.5 % quantiles of Student's t for 1..12 degrees of freedom (more: ≈ 2.1 down to 1.96).
const T975 = [12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.2, 2.18];

/** Least-squares slope of ys over xs with the half-width of its 95 % confidence interval. */
function fit(xs, ys) {
  const n = xs.length;
  const b = slope(xs, ys);
  if (n < 3 || !Number.isFinite(b)) {
    return { slope: b, ci: NaN, n };
  }
  const mx = xs.reduce((a, x) => a + x, 0) / n;
  const my = ys.reduce((a, y) => a + y, 0) / n;
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const sse = xs.reduce((a, x, i) => a + (ys[i] - (my + b * (x - mx))) ** 2, 0);
  const t = T975[n - 3] ?? (n < 30 ? 2.1 : 1.96);
  return { slope: b, ci: t * Math.sqrt(sse / (n - 2) / sxx), n };
}

/** Per window after the warm-up: the minimum of each series (the post-GC floor) and the major GCs it saw. */
function floors(samples, warmFrom, windowMin) {
  const end = samples[samples.length - 1].t;
  const windows = [];
  for (let from = warmFrom; from + windowMin <= end + 1e-9; from += windowMin) {
    const inside = samples.filter((s) => s.t >= from && s.t < from + windowMin);
    if (inside.length === 0) {
      continue;
    }
    const min = (key) => Math.min(...inside.map((s) => s[key]).filter(Number.isFinite));
    const gcs = (key) => inside[inside.length - 1][key] - inside[0][key];
    windows.push({
      t: from + windowMin / 2,
      api: min('api'),
      worker: min('worker'),
      apiHeap: min('apiHeap'),
      workerHeap: min('workerHeap'),
      apiMajor: gcs('apiMajor'),
      workerMajor: gcs('workerMajor'),
    });
  }
  return windows;
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

async function runSoak(ctx) {
  const seconds = ctx.num('BENCH_SOAK_SECONDS', 20, 600);
  const snapshots = process.env.BENCH_SOAK_SNAPSHOTS === '1';
  const heapDir = join(ctx.artifacts, 'heap-soak');
  const dirs = { api: join(heapDir, 'api'), worker: join(heapDir, 'worker') };
  if (snapshots) {
    Object.values(dirs).forEach((d) => mkdirSync(d, { recursive: true }));
  }
  const flag = (d) => (snapshots ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${d}`] : []);
  const concurrency = 4;
  const stack = await ctx.startStack({ nodeArgs: flag(dirs.api), workerNodeArgs: flag(dirs.worker) });
  const metrics = {
    api: `http://127.0.0.1:${stack.env.LEASH_METRICS_PORT}/metrics`,
    worker: `http://127.0.0.1:${stack.env.LEASH_WORKER_METRICS_PORT}/metrics`,
  };
  const tokens = {
    agent: await devToken(stack.url, 'agent-soak'),
    alice: await devToken(stack.url, 'alice'),
    admin: await devToken(stack.url, 'admin'),
  };
  const samples = [];
  const t0 = Date.now();
  // One sample at a time: a tick that finds the previous one still scraping (loaded machine) is skipped.
  let sampling;
  const takeSample = async () => {
    const t = (Date.now() - t0) / 60000;
    const [api, worker] = await Promise.all([heapOf(metrics.api), heapOf(metrics.worker)]);
    samples.push({
      t,
      api: rssKb(stack.api.pid) / 1024,
      worker: rssKb(stack.worker.pid) / 1024,
      apiHeap: api.heap,
      workerHeap: worker.heap,
      apiMajor: api.major,
      workerMajor: worker.major,
      apiTotal: api.total,
      workerTotal: worker.total,
      apiExternal: api.external,
      workerExternal: worker.external,
    });
  };
  const sample = () => {
    sampling ??= takeSample().finally(() => {
      sampling = undefined;
    });
    return sampling;
  };
  await sample();
  const sampler = setInterval(sample, ctx.pick(250, 1000));
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
    clearInterval(sampler);
  }
  await sampling;
  await sample();
  if (snapshots) {
    // Let the last leases expire and be revoked, so the second snapshot holds no more in-flight work than the first.
    await new Promise((r) => setTimeout(r, 8000));
    await snapshotBoth();
  }
  if (process.env.BENCH_SOAK_SAMPLES) {
    writeFileSync(process.env.BENCH_SOAK_SAMPLES, JSON.stringify(samples));
  }
  const warmFrom = samples[samples.length - 1].t / 5;
  const warm = samples.filter((s) => s.t >= warmFrom);
  const xs = warm.map((s) => s.t);
  const raw = {
    api: slope(
      xs,
      warm.map((s) => s.api),
    ),
    worker: slope(
      xs,
      warm.map((s) => s.worker),
    ),
  };
  // Windows of 60 s, fewer seconds when the run is short: at least 4 windows after the warm-up.
  const windowMin = Math.min(1, (samples[samples.length - 1].t - warmFrom) / 4);
  const win = floors(samples, warmFrom, windowMin);
  const wx = win.map((w) => w.t);
  const floor = {};
  for (const key of ['api', 'worker', 'apiHeap', 'workerHeap']) {
    floor[key] = fit(
      wx,
      win.map((w) => w[key]),
    );
  }
  const growth = snapshots
    ? { api: heapGrowth(snaps.api[0], snaps.api[1]), worker: heapGrowth(snaps.worker[0], snaps.worker[1]) }
    : undefined;
  return {
    seconds,
    concurrency,
    samples,
    warm: warm.length,
    raw,
    windowMin,
    win,
    floor,
    counts,
    errors,
    firstError,
    snaps,
    growth,
  };
}

module.exports = { runSoak, BOUND_MIB_PER_MIN, fit, floors };

const ci = (f) => `${fmt(f.slope, 3)} ± ${fmt(f.ci, 3)}`;

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
    const every = Math.max(1, Math.floor(r.samples.length / 30));
    const shown = r.samples.filter((_, i) => i % every === 0);
    const ops = r.counts.expire + r.counts.revoke + r.counts.approve;
    const within = (f) => Math.abs(f.slope) + f.ci <= BOUND_MIB_PER_MIN;
    const verdictNote = (f) =>
      `signed ${fmt(f.slope, 3)}, 95 % CI ± ${fmt(f.ci, 3)} over ${f.n} windows${within(f) ? '' : ', CI reaches past the bound'}`;
    const withGc = (key) => r.win.filter((w) => w[key] > 0).length;
    return {
      rows: [
        row('5. API RSS slope of the post-GC floor (per-window minima), |MiB/min|', Math.abs(r.floor.api.slope), {
          unit: 'MiB/min',
          op: '<=',
          goal: BOUND_MIB_PER_MIN,
          note: verdictNote(r.floor.api),
        }),
        row('5. worker RSS slope of the post-GC floor (per-window minima), |MiB/min|', Math.abs(r.floor.worker.slope), {
          unit: 'MiB/min',
          op: '<=',
          goal: BOUND_MIB_PER_MIN,
          note: verdictNote(r.floor.worker),
        }),
        row('5. API V8 heapUsed floor slope', r.floor.apiHeap.slope, { unit: 'MiB/min', note: ci(r.floor.apiHeap) }),
        row('5. worker V8 heapUsed floor slope', r.floor.workerHeap.slope, {
          unit: 'MiB/min',
          note: ci(r.floor.workerHeap),
        }),
        row('5. API raw RSS samples: slope (sawtooth)', r.raw.api, { unit: 'MiB/min' }),
        row('5. worker raw RSS samples: slope (sawtooth)', r.raw.worker, { unit: 'MiB/min' }),
        row('5. soak operations that failed', r.errors, { op: '<=', goal: 0 }),
      ],
      markdown: `${r.seconds} s of mixed load, ${r.concurrency} clients in a closed loop: ${ops} operations (${fmt(ops / r.seconds)}/s) — ${r.counts.expire} issuances of 5 s leases left to expire (the worker revokes them), ${r.counts.revoke} issuances revoked at once with \`DELETE /v1/leases/:id\`, ${r.counts.approve} production requests approved by a human through the API and claimed (5 s leases); ${r.errors} errors${r.firstError ? ` (first: ${r.firstError})` : ''}.
Sampled every ${r.seconds > 60 ? 1 : 0.25} s: RSS (/proc) and V8 heapUsed and major-GC count (the process's /metrics). After the warm-up (first fifth), each window of ${fmt(r.windowMin * 60, 0)} s gives its minimum (the floor the process returns to after a collection); slope = least squares over the ${r.win.length} window floors, ± the half-width of its 95 % confidence interval (Student's t). Windows that saw a major GC: API ${withGc('apiMajor')} of ${r.win.length}, worker ${withGc('workerMajor')} of ${r.win.length} (a window without one gives a floor from minor collections only). Flat: |slope| ≤ ${BOUND_MIB_PER_MIN} MiB/min.

| | RSS floor slope (MiB/min) | heapUsed floor slope (MiB/min) | raw RSS slope (MiB/min) | RSS first / last sample (MiB) | heapUsed first / last floor (MiB) |
|---|---|---|---|---|---|
| API | ${ci(r.floor.api)} | ${ci(r.floor.apiHeap)} | ${fmt(r.raw.api, 3)} | ${fmt(r.samples[0].api)} / ${fmt(r.samples[r.samples.length - 1].api)} | ${fmt(r.win[0]?.apiHeap)} / ${fmt(r.win[r.win.length - 1]?.apiHeap)} |
| worker | ${ci(r.floor.worker)} | ${ci(r.floor.workerHeap)} | ${fmt(r.raw.worker, 3)} | ${fmt(r.samples[0].worker)} / ${fmt(r.samples[r.samples.length - 1].worker)} | ${fmt(r.win[0]?.workerHeap)} / ${fmt(r.win[r.win.length - 1]?.workerHeap)} |

Window floors (minute: API RSS / heapUsed, worker RSS / heapUsed, MiB; major GCs API/worker): ${r.win.map((w) => `${fmt(w.t, 1)}: ${fmt(w.api, 0)}/${fmt(w.apiHeap, 0)}, ${fmt(w.worker, 0)}/${fmt(w.workerHeap, 0)} (${w.apiMajor}/${w.workerMajor})`).join('; ')}

Raw samples (minute: API / worker RSS MiB): ${shown.map((s) => `${fmt(s.t, 1)}: ${fmt(s.api, 0)}/${fmt(s.worker, 0)}`).join(', ')}
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
