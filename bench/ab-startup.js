'use strict';
// Start-up before/after (issue 19 target 3's restart lines) on a shared, noisy machine: two complete stacks (own
// Redis, API, worker), one from build A (before) and one from build B (after), restarted in turns (A B, B A, …) so
// both see the same background load. Per round and side:
//   - module loading: a fresh `node` requiring the API's app.module.js (and the worker's worker.module.js), timed
//     inside it (what start-up spends before Nest runs);
//   - API restart: SIGTERM, spawn, POST /v1/requests polled from the spawn on → time to the first 201, then the
//     claim → first credential;
//   - worker restart: a jwt lease of 5 s is issued, the worker SIGKILLed, the lease falls due, the worker is
//     spawned → time to "leash worker started" and to the lease read back as revoked (revocations resume).
// Lease count does not matter here: nothing in either start reads leases (bench/RESULTS.md, million run).
//
//   node bench/ab-startup.js --a .test-artifacts/dist-before --b dist [--rounds 6] [--out FILE]
const { execFileSync } = require('node:child_process');
const { appendFileSync } = require('node:fs');
const os = require('node:os');
const { join, resolve } = require('node:path');
const { parseArgs } = require('node:util');
const lib = require('./lib');

const { fmt, request } = lib;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ROLE = { role: 'demo-staging-read', environment: 'staging', reason: 'bench' };

/** ms a fresh node process spends requiring `file` (measured inside it, so process start is not counted). */
function moduleLoadMs(file) {
  const code = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6));process.exit(0)`;
  return Number(
    execFileSync(process.execPath, ['-e', code], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
  );
}

async function call(url, method, path, token, body) {
  return request(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}` }, body }).catch((err) => ({
    status: 0,
    text: String(err.message),
    json: () => ({}),
  }));
}

async function apiRestart(stack, token) {
  await stack.stopProcess(stack.api);
  const spawnedAt = Date.now();
  const started = stack.startApi();
  started.catch(() => undefined);
  let first201;
  let last;
  while (Date.now() < spawnedAt + 60000) {
    const created = await call(stack.url, 'POST', '/v1/requests', token, { ...ROLE, ttlSeconds: 600 });
    last = `${created.status} ${created.text.slice(0, 120)}`;
    if (created.status !== 201) {
      await sleep(10);
      continue;
    }
    first201 ??= Date.now() - spawnedAt;
    const claim = await call(stack.url, 'POST', `/v1/requests/${created.json().id}/credentials`, token);
    last = `${claim.status} ${claim.text.slice(0, 120)}`;
    if (claim.status === 201) {
      await started;
      return { first201, firstCredential: Date.now() - spawnedAt };
    }
  }
  throw new Error(`API restart: no issuance within 60 s (last answer ${last})`);
}

async function workerRestart(stack, token) {
  const created = await call(stack.url, 'POST', '/v1/requests', token, { ...ROLE, ttlSeconds: 5 });
  const claim = await call(stack.url, 'POST', `/v1/requests/${created.json().id}/credentials`, token);
  if (claim.status !== 201) {
    throw new Error(`worker restart: claim ${claim.status} ${claim.text.slice(0, 200)}`);
  }
  const lease = claim.json().lease;
  stack.worker.removeAllListeners('exit');
  stack.worker.kill('SIGKILL');
  while (Date.now() < Date.parse(lease.expiresAt) + 500) {
    await sleep(50);
  }
  const spawnedAt = Date.now();
  const started = stack.startWorker().then(() => Date.now() - spawnedAt);
  started.catch(() => undefined);
  while (Date.now() < spawnedAt + 60000) {
    const got = await call(stack.url, 'GET', `/v1/leases/${lease.id}`, token);
    if (got.status === 200 && got.json().state === 'revoked') {
      const resumed = Date.now() - spawnedAt;
      return { ready: await started, resumed };
    }
    await sleep(10);
  }
  throw new Error('worker restart: the due lease was not revoked within 60 s');
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const { values } = parseArgs({
    options: {
      a: { type: 'string' },
      b: { type: 'string', default: 'dist' },
      rounds: { type: 'string', default: '6' },
      out: { type: 'string' },
      label: { type: 'string', default: '' },
    },
  });
  if (!values.a) {
    throw new Error('--a DIST (the build before the change) is required');
  }
  const rounds = Number(values.rounds);
  const dists = { a: resolve(values.a), b: resolve(values.b) };
  const loadStart = os.loadavg();
  const stacks = {
    a: await lib.startStack({ dist: dists.a }),
    b: await lib.startStack({ dist: dists.b }),
  };
  const m = { a: {}, b: {} };
  const add = (side, key, v) => (m[side][key] ??= []).push(v);
  try {
    const tokens = { a: await lib.devToken(stacks.a.url, 'agent-ab'), b: await lib.devToken(stacks.b.url, 'agent-ab') };
    for (let r = 0; r < rounds; r += 1) {
      for (const side of r % 2 === 0 ? ['a', 'b'] : ['b', 'a']) {
        add(side, 'apiModules', moduleLoadMs(join(dists[side], 'apps/api/src/app.module.js')));
        add(side, 'workerModules', moduleLoadMs(join(dists[side], 'apps/worker/src/worker.module.js')));
        const api = await apiRestart(stacks[side], tokens[side]);
        add(side, 'first201', api.first201);
        add(side, 'firstCredential', api.firstCredential);
        const worker = await workerRestart(stacks[side], tokens[side]);
        add(side, 'workerReady', worker.ready);
        add(side, 'workerResumed', worker.resumed);
        process.stderr.write(`round ${r + 1} ${side}: ${JSON.stringify({ ...api, ...worker })}\n`);
      }
    }
  } finally {
    await stacks.a.stop();
    await stacks.b.stop();
  }
  const loadEnd = os.loadavg();
  const line = (name, key) => {
    const a = median(m.a[key]);
    const b = median(m.b[key]);
    return `| ${name} | ${fmt(a, 0)} | ${fmt(b, 0)} | ${fmt(b / a, 2)} | ${m.a[key].map((x) => fmt(x, 0)).join(', ')} / ${m.b[key].map((x) => fmt(x, 0)).join(', ')} |`;
  };
  const la = (l) => l.map((x) => x.toFixed(1)).join(' ');
  const md = `
#### ${values.label || 'Start-up before/after'}

\`node bench/ab-startup.js --a ${values.a} --b ${values.b} --rounds ${rounds}\` — ${new Date().toISOString()}, load average ${la(loadStart)} → ${la(loadEnd)} (${os.cpus().length} cores); A and B restarted in turns (A B, B A, …), medians of ${rounds} rounds.

| measure (ms) | A (before) | B (after) | B ÷ A | every round, A / B |
|---|---|---|---|---|
${line('module loading of the API (require app.module.js in a fresh node)', 'apiModules')}
${line('module loading of the worker (require worker.module.js)', 'workerModules')}
${line('API restart: spawn → first 201 of POST /v1/requests', 'first201')}
${line('API restart: spawn → first credential (request + claim 201)', 'firstCredential')}
${line('worker restart: spawn → "leash worker started"', 'workerReady')}
${line('worker restart: spawn → a lease that fell due while it was down read back revoked', 'workerResumed')}
`;
  process.stdout.write(md);
  if (values.out) {
    appendFileSync(values.out, md);
  }
}

if (require.main === module) {
  main().catch((err) => {
    lib.killStarted();
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}
