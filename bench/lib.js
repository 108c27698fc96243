'use strict';
// Shared helpers for the benchmarks: start Redis, the API and the worker from dist/ on free loopback ports, a
// keep-alive HTTP client, statistics, and the target rows every scenario returns to bench/run.js.
const { spawn, execFileSync } = require('node:child_process');
const { mkdtempSync, readFileSync } = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const { join, resolve: resolvePath } = require('node:path');

const ROOT = join(__dirname, '..');

// Ports below the kernel's ephemeral range (32768-60999): a port picked by listen(0) could become some client's
// local port before the server bound it (same reasoning as test/support/free-port.ts).
const handedOut = new Set();
function tryListen(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.unref();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
async function freePort() {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (!handedOut.has(port) && (await tryListen(port))) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free loopback port between 20000 and 32000');
}

function startProcess(name, cmd, args, env, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let started = false;
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out}`)), 30000);
    const onData = (c) => {
      out += c.toString();
      if (started) {
        // Once started, only the tail is kept (for the exit message): the load generator shares the cores with
        // the servers it measures, so it must not rescan their log output on every chunk.
        if (out.length > 6000) {
          out = out.slice(-3000);
        }
        return;
      }
      if (out.length > 1e6) {
        out = out.slice(-1e5);
      }
      if (ready.test(out)) {
        clearTimeout(timer);
        started = true;
        child.startupOutput = out; // what it printed until ready (e.g. --inspect=…:0's "Debugger listening on ws://…")
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited ${code}:\n${out.slice(-3000)}`));
    });
  });
}

/** The build benches load in-process (store, ids): BENCH_DIST if set (a copy inside the repository), else dist/. */
function distDir() {
  return process.env.BENCH_DIST ? resolvePath(process.env.BENCH_DIST) : join(ROOT, 'dist');
}

/** Every process a bench started, so that run.js can stop them by pid when a scenario fails. */
const started = new Set();

/**
 * Redis, the API and the worker as processes from dist/. Options: workerConcurrency, env (both processes),
 * apiEnv / workerEnv (one of them), nodeArgs / workerNodeArgs (API / worker node flags, e.g. --cpu-prof), worker
 * (false: no worker),
 * jwtAlg (ES256 default, as scripts/generate-jwt-keys.js), dist (the build to run, default ROOT/dist; a copy must
 * stay inside the repository so that node_modules resolves, e.g. .test-artifacts/dist-base; BENCH_DIST sets it for a
 * whole `node bench/run.js`).
 */
async function startStack({
  workerConcurrency = 50,
  env = {},
  apiEnv = {},
  workerEnv = {},
  nodeArgs = [],
  workerNodeArgs = [],
  worker = true,
  jwtAlg,
  dist = process.env.BENCH_DIST ? resolvePath(process.env.BENCH_DIST) : join(ROOT, 'dist'),
} = {}) {
  const dir = mkdtempSync(join(os.tmpdir(), 'leash-bench-'));
  const redisPort = await freePort();
  const redis = await startProcess(
    'redis',
    'redis-server',
    [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--hash-max-listpack-value',
      '1024',
    ],
    {},
    /Ready to accept connections/,
  );
  started.add(redis);
  const keys = join(dir, 'jwt-keys.json');
  execFileSync(process.execPath, [
    join(ROOT, 'scripts', 'generate-jwt-keys.js'),
    keys,
    ...(jwtAlg ? ['--alg', jwtAlg] : []),
  ]);
  const port = await freePort();
  const common = {
    LEASH_POLICY: join(ROOT, 'deploy', 'examples', 'demo-policy.yaml'),
    LEASH_JWT_KEYS: keys,
    LEASH_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    LEASH_PORT: String(port),
    LEASH_HOST: '127.0.0.1',
    LEASH_PUBLIC_URL: `http://127.0.0.1:${port}`,
    LEASH_DEV_ISSUER: 'true',
    LEASH_DATA_DIR: join(dir, 'data'),
    LEASH_LOG_LEVEL: 'info',
    LEASH_RATE_LIMIT_PER_MINUTE: '1000000',
    LEASH_WORKER_CONCURRENCY: String(workerConcurrency),
    LEASH_METRICS_PORT: String(await freePort()),
    LEASH_WORKER_METRICS_PORT: String(await freePort()),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...env,
  };
  const stack = {
    url: `http://127.0.0.1:${port}`,
    port,
    redisPort,
    redisUrl: common.LEASH_REDIS_URL,
    redis,
    api: undefined,
    worker: undefined,
    extraWorkers: [],
    dir,
    env: common,
    async startApi() {
      stack.api = await startProcess(
        'api',
        process.execPath,
        [...nodeArgs, join(dist, 'apps/api/src/main.js')],
        { ...common, ...apiEnv },
        /leash api listening/, // not /listening/: --inspect prints "Debugger listening on …" first
      );
      started.add(stack.api);
      return stack.api;
    },
    /** Another worker process (own metrics port), stopped with the stack; for scenarios with several workers. */
    async addWorker() {
      const child = await startProcess(
        'worker',
        process.execPath,
        [join(dist, 'apps/worker/src/main.js')],
        { ...common, ...workerEnv, LEASH_WORKER_METRICS_PORT: String(await freePort()) },
        /leash worker started/,
      );
      started.add(child);
      stack.extraWorkers.push(child);
      return child;
    },
    async startWorker() {
      stack.worker = await startProcess(
        'worker',
        process.execPath,
        [...workerNodeArgs, join(dist, 'apps/worker/src/main.js')],
        { ...common, ...workerEnv },
        /leash worker started/,
      );
      started.add(stack.worker);
      return stack.worker;
    },
    /** SIGTERM (graceful: lets --cpu-prof write its profile), SIGKILL after `graceMs`. */
    async stopProcess(child, graceMs = 10000) {
      if (!child || child.exitCode !== null || child.signalCode !== null) {
        started.delete(child);
        return;
      }
      child.removeAllListeners('exit');
      await new Promise((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
      started.delete(child);
    },
    async stop() {
      for (const child of [...stack.extraWorkers, stack.worker, stack.api, redis]) {
        if (child) {
          child.removeAllListeners('exit');
          child.kill('SIGKILL');
          started.delete(child);
        }
      }
    },
  };
  try {
    await stack.startApi();
    if (worker) {
      await stack.startWorker();
    }
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}

/** Kills (by pid) every process a bench started and did not stop. */
function killStarted() {
  for (const child of started) {
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
  }
  started.clear();
}

// One keep-alive HTTP client for every figure (node:http costs the client less than fetch, so the server is what
// is measured).
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** `request('http://…/path', { method, headers, body })` → { status, headers, text, json() }. */
function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: {
          ...(payload !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (payload !== undefined) {
      req.write(payload);
    }
    req.end();
  });
}

/** Runs `op` in a closed loop from `concurrency` workers for `seconds`; adds to `acc`. */
async function collect(op, { concurrency, seconds, cpu }, acc) {
  const cpu0 = cpu?.();
  const t0 = performance.now();
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const s = performance.now();
        try {
          const calls = await op();
          acc.calls += calls ?? 1;
          acc.latencies.push(performance.now() - s);
        } catch (err) {
          acc.errors += 1;
          acc.firstError ??= String(err.message ?? err).slice(0, 300);
        }
      }
    }),
  );
  acc.elapsed += (performance.now() - t0) / 1000;
  if (cpu0) {
    const cpu1 = cpu();
    acc.cpu ??= {};
    for (const [name, s] of Object.entries(cpu1)) {
      acc.cpu[name] = (acc.cpu[name] ?? 0) + (s - (cpu0[name] ?? s));
    }
  }
  return acc;
}

const emptyAcc = () => ({ latencies: [], calls: 0, errors: 0, firstError: undefined, elapsed: 0 });

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; NaN once it is gone. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/**
 * A CPU meter over named processes for closedLoop / interleaved ({ cpu }): `pids` is { name: pid }; the bench's own
 * process (the load generator) is counted as `client` (process.cpuUsage). Returns a function giving CPU seconds so far.
 */
function cpuMeter(pids) {
  return () => {
    const out = {};
    for (const [name, pid] of Object.entries(pids)) {
      if (pid) {
        out[name] = cpuSeconds(pid);
      }
    }
    const own = process.cpuUsage();
    out.client = (own.user + own.system) / 1e6;
    return out;
  };
}

function summary(acc) {
  const latencies = acc.latencies.sort((a, b) => a - b);
  return {
    cpu: acc.cpu,
    count: latencies.length,
    errors: acc.errors,
    firstError: acc.firstError,
    perSecond: latencies.length / acc.elapsed,
    callsPerSecond: acc.calls / acc.elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1],
    seconds: acc.elapsed,
  };
}

/**
 * Closed loop: `concurrency` workers call `op()` (resolves to the number of HTTP calls it made, default 1) for
 * `seconds`. Returns operations per second, HTTP calls per second, latency percentiles (ms per operation), errors.
 */
async function closedLoop(op, { concurrency, seconds, cpu }) {
  return summary(await collect(op, { concurrency, seconds, cpu }, emptyAcc()));
}

/**
 * Several loads measured in turns of `slice` seconds (A, B, C, A, B, C, …) until each ran `seconds`: on a shared
 * machine every load then sees the same background, so their ratios hold even when absolute rates wander.
 * `ops` is { name: op }; returns { name: summary }.
 */
async function interleaved(ops, { concurrency, seconds, slice = 1, cpu }) {
  const accs = Object.fromEntries(Object.keys(ops).map((k) => [k, emptyAcc()]));
  const rounds = Math.max(1, Math.round(seconds / slice));
  for (let r = 0; r < rounds; r += 1) {
    for (const [name, op] of Object.entries(ops)) {
      await collect(op, { concurrency, seconds: slice, cpu }, accs[name]);
    }
  }
  return Object.fromEntries(Object.entries(accs).map(([k, acc]) => [k, summary(acc)]));
}

async function devToken(url, subject, extra = {}) {
  const res = await request(`${url}/v1/dev/tokens`, { method: 'POST', body: { subject, ttlSeconds: 86400, ...extra } });
  if (res.status !== 201) {
    throw new Error(`dev token: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  }
  return res.json().token;
}

function percentile(sorted, p) {
  if (sorted.length === 0) {
    return NaN;
  }
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Least-squares slope of ys over xs. */
function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) {
    return NaN;
  }
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i += 1) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

function rssKb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

function machine() {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0].model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

const fmt = (n, d = 1) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(d) : String(n));

/**
 * One target row of the summary: `row('1. issuance ÷ healthz', 0.42, { unit: '×', op: '>=', goal: 0.6 })`.
 * ratio = measured ÷ goal (≥ 1 passes a `>=` goal, ≤ 1 passes a `<=` goal); without op/goal the row is
 * informational (verdict `info`). `note` is printed next to it.
 */
function row(target, measured, { unit = '', op, goal, note } = {}) {
  const numeric = typeof measured === 'number' && Number.isFinite(measured);
  if (op === undefined || goal === undefined) {
    return { target, measured, unit, goal: '', ratio: null, verdict: numeric ? 'info' : 'error', note };
  }
  // A ratio against a goal of zero (e.g. leases missed) means nothing: none is given, the verdict says it.
  const ratio = goal === 0 ? null : measured / goal;
  const ok = numeric && (op === '>=' ? measured >= goal : op === '<=' ? measured <= goal : measured === goal);
  return {
    target,
    measured,
    unit,
    goal: `${op === '>=' ? '≥' : op === '<=' ? '≤' : '='} ${goal}${unit ? ` ${unit}` : ''}`,
    ratio,
    verdict: numeric ? (ok ? 'pass' : 'FAIL') : 'error',
    note,
  };
}

/**
 * Writes one active jwt lease the way a claim records it (lease set-up of the memory, million, revocation and failover
 * scenarios): the auto-approved request, the claim's intent taken from it (crash-safe claims), then the lease record
 * that replaces the intent. Throws when the store refuses a step. `store` is a RedisLeaseStore from dist/.
 */
async function recordActiveLease(store, { requestId, leaseId, principal, sessionId, now, expiresAt }) {
  const { fingerprintSecret, canonicalDigest } = require(join(distDir(), 'libs/core/src/index.js'));
  const what = { role: 'demo-staging-read', environment: 'staging', provider: 'jwt', principal };
  const request = {
    ...what,
    id: requestId,
    state: 'approved',
    ttlSeconds: 3600,
    reason: 'read the staging API for the nightly report',
    issuer: 'http://127.0.0.1:8080/dev',
    session: { id: sessionId, agent: 'claude-code', host: 'ci-runner' },
    context: {},
    decision: 'auto_approved',
    approval: { kind: 'auto', claimWindowSeconds: 600 },
    risk: { level: 'low', reasons: [], findings: [] },
    policyVersion: 'sha256:0123456789ab',
    principalGroups: [],
    scope: { audience: 'demo-api', scope: ['read'] },
    roleFingerprint: 'f'.repeat(64),
    createdAt: now,
    expiresAt: now + 600000,
  };
  // The digest the API computes (libs/core requestDigest; spelled out here for builds from before it moved there).
  request.digest = canonicalDigest({
    role: request.role,
    environment: request.environment,
    ttlSeconds: request.ttlSeconds,
    scope: request.scope,
    roleFingerprint: request.roleFingerprint,
    context: request.context,
    principal,
    session: sessionId,
  });
  await store.createRequest(request);
  const began = await store.beginClaim(
    {
      ...what,
      leaseId,
      requestId,
      sessionId,
      identity: {},
      handle: { jti: leaseId },
      ttlSeconds: 3600,
      owner: 'bench',
      startedAt: now,
      deadline: now + 600000,
    },
    now,
  );
  if (!began.ok) {
    throw new Error(`bench: beginClaim refused (${began.reason})`);
  }
  const recorded = await store.recordLease(
    {
      ...what,
      id: leaseId,
      requestId,
      state: 'active',
      issuer: 'http://127.0.0.1:8080/dev',
      sessionId,
      issuedAt: now,
      expiresAt,
      fingerprint: fingerprintSecret(`secret-${leaseId}`),
      providerRef: { jti: leaseId, kid: 'k-2026-11' },
      attempts: 0,
    },
    // The revocation handle the JWT provider hands back (JwtProvider.issue's revocationHandle).
    { jti: leaseId },
    Date.now(),
  );
  if (!recorded.ok) {
    throw new Error(`bench: recordLease refused (${recorded.reason})`);
  }
}

module.exports = {
  ROOT,
  recordActiveLease,
  distDir,
  interleaved,
  startStack,
  killStarted,
  request,
  closedLoop,
  devToken,
  percentile,
  slope,
  rssKb,
  cpuSeconds,
  cpuMeter,
  machine,
  freePort,
  fmt,
  row,
};
