'use strict';
// Before/after of a change on the approval path (issue 19 target 4), on a shared, noisy machine: two complete
// stacks (own Redis, API, worker) from build A (before) and build B (after); the approval load of bench/approval.js
// (8 requesters, each creates a pending request, long-polls it, an approver approves 50 ms later) runs on them in
// turns of --batch approvals (A, B, B, A, A, B, …), per channel, so both see the same background load. Reported per
// build: approve call → long-poll answer p50/p99/max, and the API's CPU time (user + system, /proc) per approval —
// the figure least moved by the other work on the machine.
//
//   cp -r dist .test-artifacts/dist-before     # build A (inside the repository: node_modules resolves)
//   … change, node scripts/build.js …           # build B in dist/
//   node bench/ab-approval.js --a .test-artifacts/dist-before --b dist [--count 400] [--batch 25] [--out FILE]
const { appendFileSync, readFileSync } = require('node:fs');
const os = require('node:os');
const { resolve } = require('node:path');
const { parseArgs } = require('node:util');
const lib = require('./lib');
const { approvers, measure } = require('./approval');

const { fmt, percentile } = lib;

/** CPU time (ms, user + system) a process has used so far. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // Fields after "pid (comm)": state is [0], utime [11], stime [12] (clock ticks, 100 per second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function main() {
  const { values } = parseArgs({
    options: {
      a: { type: 'string' },
      b: { type: 'string', default: 'dist' },
      label: { type: 'string', default: '' },
      count: { type: 'string', default: '400' },
      batch: { type: 'string', default: '25' },
      concurrency: { type: 'string', default: '8' },
      out: { type: 'string' },
    },
  });
  if (!values.a) {
    throw new Error('--a DIST (the build before the change) is required');
  }
  const count = Number(values.count);
  const batch = Number(values.batch);
  const concurrency = Number(values.concurrency);
  const loadStart = os.loadavg();
  const stacks = {
    A: await lib.startStack({ dist: resolve(values.a) }),
    B: await lib.startStack({ dist: resolve(values.b) }),
  };
  try {
    const ways = { A: await approvers(stacks.A.url), B: await approvers(stacks.B.url) };
    const acc = {};
    for (const build of ['A', 'B']) {
      for (const channel of ['api', 'console']) {
        acc[`${build}.${channel}`] = { lat: [], errors: 0, cpu: 0, n: 0, firstError: undefined };
      }
    }
    let turn = 0;
    for (const channel of ['api', 'console']) {
      for (let done = 0; done < count; done += batch) {
        // A B, then B A: neither build always goes first.
        const order = turn % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
        turn += 1;
        for (const build of order) {
          const stack = stacks[build];
          const cpu0 = cpuMs(stack.api.pid);
          const m = await measure(stack.url, ways[build][channel], { count: batch, concurrency });
          const a = acc[`${build}.${channel}`];
          a.cpu += cpuMs(stack.api.pid) - cpu0;
          a.n += m.count + m.errors;
          a.lat.push(...m.lat);
          a.errors += m.errors;
          a.firstError ??= m.firstError;
        }
      }
    }
    const loadEnd = os.loadavg();
    const stat = (a) => {
      const lat = [...a.lat].sort((x, y) => x - y);
      return { p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat[lat.length - 1], cpu: a.cpu / a.n };
    };
    const lines = [];
    for (const channel of ['api', 'console']) {
      const A = stat(acc[`A.${channel}`]);
      const B = stat(acc[`B.${channel}`]);
      const name = channel === 'api' ? 'API POST approve' : 'console form POST';
      for (const [what, key, d] of [
        ['→ long-poll answer p50 ms', 'p50', 1],
        ['→ long-poll answer p99 ms', 'p99', 1],
        ['→ long-poll answer max ms', 'max', 1],
        ['API CPU ms per approval (whole cycle)', 'cpu', 2],
      ]) {
        lines.push(`| ${name} ${what} | ${fmt(A[key], d)} | ${fmt(B[key], d)} | ${fmt(B[key] / A[key], 2)} |`);
      }
      const eA = acc[`A.${channel}`];
      const eB = acc[`B.${channel}`];
      lines.push(
        `| ${name}: approvals / errors A, B | ${eA.lat.length} / ${eA.errors}${eA.firstError ? ` (${eA.firstError})` : ''} | ${eB.lat.length} / ${eB.errors}${eB.firstError ? ` (${eB.firstError})` : ''} | |`,
      );
    }
    const md = `
#### ${values.label || 'approval path A/B'}

\`node bench/ab-approval.js --a ${values.a} --b ${values.b} --count ${count} --batch ${batch}\` — ${new Date().toISOString()}, load average ${loadStart.map((l) => fmt(l)).join(' ')} → ${loadEnd.map((l) => fmt(l)).join(' ')} (${os.cpus().length} cores); ${concurrency} requesters, ${count} approvals per channel and build, in turns of ${batch} (A B, B A, …).

| measure | A (before) | B (after) | B ÷ A |
|---|---|---|---|
${lines.join('\n')}
`;
    process.stdout.write(md);
    if (values.out) {
      appendFileSync(values.out, md);
    }
  } finally {
    await stacks.A.stop();
    await stacks.B.stop();
  }
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
