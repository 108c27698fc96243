'use strict';
// Before/after of one change on a shared, noisy machine: two complete stacks (own Redis, API, worker) run side by
// side, one from build A (before) and one from build B (after), and the same loads are measured on them in turns
// of 1 s (A, B, A, B, …), so both see the same background load.
//
//   cp -r dist .test-artifacts/dist-before     # build A (keep it inside the repository: node_modules resolves)
//   … change, node scripts/build.js …           # build B in dist/
//   node bench/ab.js --a .test-artifacts/dist-before --b dist --label "what changed" [--seconds 20] [--out FILE]
//     [--a-node-arg FLAG …] [--b-node-arg FLAG …]   (API node flags of one side, e.g. a V8 heap setting)
//
// Prints a markdown block (and appends it to --out): issuance at concurrency 32 and 4 and GET /healthz at 32, and
// the CPU each side's API and Redis spent per issuance during its own turns (/proc/<pid>/stat).
const { appendFileSync } = require('node:fs');
const os = require('node:os');
const { resolve } = require('node:path');
const { parseArgs } = require('node:util');
const lib = require('./lib');
const { issueOnce } = require('./issuance');

const { fmt } = lib;

async function main() {
  const { values } = parseArgs({
    options: {
      a: { type: 'string' },
      b: { type: 'string', default: 'dist' },
      label: { type: 'string', default: '' },
      seconds: { type: 'string', default: '20' },
      out: { type: 'string' },
      env: { type: 'string', multiple: true },
      'a-node-arg': { type: 'string', multiple: true },
      'b-node-arg': { type: 'string', multiple: true },
    },
  });
  if (!values.a) {
    throw new Error('--a DIST (the build before the change) is required');
  }
  const seconds = Number(values.seconds);
  const env = Object.fromEntries((values.env ?? []).map((kv) => kv.split(/=(.*)/s).slice(0, 2)));
  const loadStart = os.loadavg();
  const A = await lib.startStack({ dist: resolve(values.a), env, nodeArgs: values['a-node-arg'] ?? [] });
  const B = await lib.startStack({ dist: resolve(values.b), env, nodeArgs: values['b-node-arg'] ?? [] });
  try {
    const tokenA = await lib.devToken(A.url, 'agent-ab');
    const tokenB = await lib.devToken(B.url, 'agent-ab');
    const issueA = () => issueOnce(A.url, tokenA);
    const issueB = () => issueOnce(B.url, tokenB);
    const health = (url) => async () => {
      const res = await lib.request(`${url}/healthz`);
      if (res.status !== 200) {
        throw new Error(`healthz ${res.status}`);
      }
      return 1;
    };
    // CPU of each side's API and Redis during its own turns: per issuance, less noisy than rates on a shared machine.
    const cpu = lib.cpuMeter({ apiA: A.api.pid, apiB: B.api.pid, redisA: A.redis.pid, redisB: B.redis.pid });
    await lib.interleaved({ a: issueA, b: issueB }, { concurrency: 32, seconds: 4 }); // warm-up
    const c32 = await lib.interleaved({ a: issueA, b: issueB }, { concurrency: 32, seconds, cpu });
    const c4 = await lib.interleaved({ a: issueA, b: issueB }, { concurrency: 4, seconds: seconds / 2, cpu });
    const hz = await lib.interleaved({ a: health(A.url), b: health(B.url) }, { concurrency: 32, seconds: seconds / 4 });
    const loadEnd = os.loadavg();
    const line = (name, a, b, key, d = 1) =>
      `| ${name} | ${fmt(a[key], d)} | ${fmt(b[key], d)} | ${fmt(b[key] / a[key], 2)} |`;
    // µs of CPU per issuance of one side's process, over that side's turns.
    const cpuLine = (name, m, proc) => {
      const a = (m.a.cpu[`${proc}A`] / m.a.count) * 1e6;
      const b = (m.b.cpu[`${proc}B`] / m.b.count) * 1e6;
      return `| ${name} | ${fmt(a, 0)} | ${fmt(b, 0)} | ${fmt(b / a, 2)} |`;
    };
    const md = `
#### ${values.label || 'A/B'}

\`node bench/ab.js --a ${values.a} --b ${values.b} --seconds ${seconds}${nodeArgsText(values)}\` — ${new Date().toISOString()}, load average ${loadStart.map((l) => l.toFixed(1)).join(' ')} → ${loadEnd.map((l) => l.toFixed(1)).join(' ')} (${os.cpus().length} cores); A and B side by side, in turns of 1 s.

| measure | A (before) | B (after) | B ÷ A |
|---|---|---|---|
${line('issuances/s, concurrency 32', c32.a, c32.b, 'perSecond')}
${line('issuance p50 ms, concurrency 32', c32.a, c32.b, 'p50')}
${line('issuance p99 ms, concurrency 32', c32.a, c32.b, 'p99')}
${line('issuances/s, concurrency 4', c4.a, c4.b, 'perSecond')}
${line('issuance p50 ms, concurrency 4', c4.a, c4.b, 'p50')}
${line('issuance p99 ms, concurrency 4', c4.a, c4.b, 'p99')}
${line('GET /healthz req/s, concurrency 32', hz.a, hz.b, 'callsPerSecond', 0)}
${cpuLine('API CPU µs per issuance, concurrency 32', c32, 'api')}
${cpuLine('Redis CPU µs per issuance, concurrency 32', c32, 'redis')}
${cpuLine('API CPU µs per issuance, concurrency 4', c4, 'api')}
| errors A / B | ${c32.a.errors + c4.a.errors + hz.a.errors} | ${c32.b.errors + c4.b.errors + hz.b.errors} | |
`;
    process.stdout.write(md);
    if (values.out) {
      appendFileSync(values.out, md);
    }
  } finally {
    await A.stop();
    await B.stop();
    lib.killStarted();
  }
}

/** The API node flags of either side, as given on the command line. */
function nodeArgsText(values) {
  const side = (name) => (values[`${name}-node-arg`] ?? []).map((arg) => ` --${name}-node-arg=${arg}`).join('');
  return `${side('a')}${side('b')}`;
}

// bench/run.js requires every bench/*.js to find scenarios: run only when started as a program.
if (require.main === module) {
  main()
    .then(() => process.exit(0))
    .catch((err) => {
      lib.killStarted();
      process.stderr.write(`${err.stack}\n`);
      process.exit(1);
    });
}
