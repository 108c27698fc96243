'use strict';
// `npm run bench`: runs the benchmarks of SPEC §9 and writes bench/RESULTS.md.
// Environment: BENCH_SECONDS (issuance duration, default 20), BENCH_SOAK_SECONDS (default 120; SPEC asks 3600),
// BENCH_ACTIVE (active leases, default 100000), BENCH_STORM (leases per storm, default 10000),
// BENCH_BREAK_GLASS (leases revoked by one break glass call, default 5000).
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { startStack, machine, rssKb, devToken } = require('./lib');
const { runIssuance, load } = require('./issuance');
const { runRevocation } = require('./revocation');
const { runBreakGlass, section: breakGlassSection } = require('./break-glass');

const env = (name, fallback) => Number(process.env[name] || fallback);
const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : String(n));

async function soak(stack, seconds) {
  const token = await devToken(stack.url, 'agent-soak');
  const samples = [];
  const end = Date.now() + seconds * 1000;
  const sampler = setInterval(() => samples.push(rssKb(stack.api.pid)), Math.max(1000, (seconds * 1000) / 30));
  while (Date.now() < end) {
    await load(stack.url, token, { concurrency: 4, seconds: Math.min(10, Math.max(1, (end - Date.now()) / 1000)) });
  }
  clearInterval(sampler);
  return samples;
}

async function main() {
  const started = new Date();
  const loadAtStart = require('node:os').loadavg();
  const results = {};
  let stack = await startStack();
  try {
    process.stderr.write('[bench] issuance…\n');
    results.issuance = await runIssuance(stack, { seconds: env('BENCH_SECONDS', 20) });
    process.stderr.write('[bench] soak…\n');
    results.soak = await soak(stack, env('BENCH_SOAK_SECONDS', 120));
  } finally {
    await stack.stop();
  }
  stack = await startStack({ workerConcurrency: 100 });
  try {
    process.stderr.write('[bench] revocation (100k active leases)…\n');
    results.revocation = await runRevocation(stack, { active: env('BENCH_ACTIVE', 100000), storm: env('BENCH_STORM', 10000) });
  } finally {
    await stack.stop();
  }
  stack = await startStack();
  try {
    process.stderr.write('[bench] break glass…\n');
    results.breakGlass = await runBreakGlass(stack, { leases: env('BENCH_BREAK_GLASS', 5000) });
  } finally {
    await stack.stop();
  }
  const i = results.issuance;
  const r = results.revocation;
  const s = results.soak;
  const md = `# Benchmark results

Machine: ${machine()}. Date: ${started.toISOString()}. Command: \`npm run bench\`. Load average at start: ${loadAtStart.map((l) => l.toFixed(1)).join(' ')}.
Load generator, Redis, API and worker share the same machine (as on the 2-core reference machine).

## Issuance of auto-approved jwt credentials over HTTP (SPEC §9: ≥ 2,000/s, p99 ≤ 25 ms)

One issuance = \`POST /v1/requests\` + \`POST /v1/requests/:id/credentials\` (two HTTP calls, JWT signed, lease recorded, revocation job scheduled, audit events written).
Closed loop, ${i.concurrency} concurrent clients, ${i.seconds} s after a 3 s warm-up.

| metric | value |
|---|---|
| issuances per second | ${fmt(i.perSecond)} |
| latency p50 / p99 (ms, both calls) | ${fmt(i.p50)} / ${fmt(i.p99)} |
| errors | ${i.errors} |
| ceiling: raw jose EdDSA sign, one core (ops/s) | ${fmt(i.jose, 0)} |
| ceiling: redis-benchmark (ops/s, 32 clients) | ${Object.entries(i.redis).map(([k, v]) => `${k} ${fmt(v, 0)}`).join(', ')} |
| API RSS before / after (MiB) | ${fmt(i.apiRssKb[0] / 1024)} / ${fmt(i.apiRssKb[1] / 1024)} |

## Revocation lag with ${r.active.toLocaleString('en')} active leases (SPEC §9: p99 ≤ 500 ms, none missed)

${r.active.toLocaleString('en')} active leases (with their delayed jobs) in Redis, then ${r.storm.count.toLocaleString('en')} leases expiring evenly over ${r.storm.windowSeconds} s (${fmt(r.storm.ratePerSecond, 0)}/s). Lag = revokedAt − expiresAt, read from the lease records.

| metric | value |
|---|---|
| lag p50 / p99 / max (ms) | ${fmt(r.storm.p50, 0)} / ${fmt(r.storm.p99, 0)} / ${fmt(r.storm.max, 0)} |
| missed (not revoked 10 s after the window) | ${r.storm.missed} |
| Redis memory per active lease: lease + its request + indexes (bytes; SPEC: ≤ 1 KiB) | ${fmt(r.bytesPerLease, 0)} |
| … of which the lease hash alone / the request hash alone (MEMORY USAGE, 200 sampled) | ${fmt(r.leaseRecordBytes, 0)} / ${fmt(r.requestRecordBytes, 0)} |
| … including its BullMQ delayed job (bytes) | ${fmt(r.bytesPerLeaseWithJob, 0)} |
| set-up of the active population (s) | ${fmt(r.setupSeconds)} |

## Worker killed mid-storm (SPEC §9: no lease outlives its expiry by more than the reconciler period, ≤ 5 s)

A second storm of ${r.kill.all.count.toLocaleString('en')} leases; the worker is SIGKILLed a third into the window and restarted ${fmt(r.kill.downtimeMs / 1000)} s later.

| leases | count | missed | lag p50 / p99 / max (ms) |
|---|---|---|---|
| all | ${r.kill.all.count} | ${r.kill.all.missed} | ${fmt(r.kill.all.p50, 0)} / ${fmt(r.kill.all.p99, 0)} / ${fmt(r.kill.all.max, 0)} |
| expired while no worker ran | ${r.kill.expiredDuringOutage.count} | ${r.kill.expiredDuringOutage.missed} | ${fmt(r.kill.expiredDuringOutage.p50, 0)} / ${fmt(r.kill.expiredDuringOutage.p99, 0)} / ${fmt(r.kill.expiredDuringOutage.max, 0)} |
| expired after the restart (none when the restart outlasts the window) | ${r.kill.expiredAfterRestart.count} | ${r.kill.expiredAfterRestart.missed} | ${fmt(r.kill.expiredAfterRestart.p50, 0)} / ${fmt(r.kill.expiredAfterRestart.p99, 0)} / ${fmt(r.kill.expiredAfterRestart.max, 0)} |

## API RSS during a ${env('BENCH_SOAK_SECONDS', 120)} s soak (SPEC §9 asks for one hour: \`BENCH_SOAK_SECONDS=3600 npm run bench\`)

Samples (MiB): ${s.map((kb) => fmt(kb / 1024, 0)).join(', ')}

${breakGlassSection(results.breakGlass)}`;
  writeFileSync(join(__dirname, 'RESULTS.md'), md);
  process.stdout.write(md);
  // Keep-alive sockets and BullMQ connections of the set-up would keep the process alive.
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
