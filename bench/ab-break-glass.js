'use strict';
// Before/after of a break-glass change (issue 19 target 3): for each build in turn (A, B, A, B, … for --turns), a
// fresh stack (own Redis, API; no worker, so nothing else touches the indexes), N active jwt leases written through
// the store as a claim writes them (bench/million.js), then one `POST /v1/admin/revoke {environment}` over all of
// them: wall time, leases per second, CPU seconds of the API and of redis-server during the call (/proc), audit
// entries and Redis memory it added. Optional --prof: the API runs under --cpu-prof (top frames printed).
//
//   cp -r dist .test-artifacts/dist-before     # build A (inside the repository, so node_modules resolves)
//   … change, node scripts/build.js …           # build B in dist/
//   node bench/ab-break-glass.js --a .test-artifacts/dist-before --b dist --leases 100000 [--turns 1] [--prof]
//     [--out FILE]
const { appendFileSync, readFileSync, readdirSync, mkdtempSync } = require('node:fs');
const os = require('node:os');
const { join, resolve } = require('node:path');
const { parseArgs } = require('node:util');
const lib = require('./lib');
const { writeLeases, clients } = require('./million');

const { fmt } = lib;

/** CPU seconds (user + system) a process used so far. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Self time per function (ms) of a V8 .cpuprofile, the top `n`. */
function topFrames(file, n = 20) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map();
  const dt = p.timeDeltas;
  for (let i = 0; i < p.samples.length; i += 1) {
    const node = byId.get(p.samples[i]);
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0) / 1000);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, ms]) => `${fmt(ms, 0).padStart(7)} ms ${fmt((ms * 100) / total, 1).padStart(5)} %  ${k}`);
}

async function oneTurn(label, dist, leases, prof) {
  const profDir = prof ? mkdtempSync(join(os.tmpdir(), `leash-bg-prof-${label}-`)) : undefined;
  const stack = await lib.startStack({
    dist,
    worker: false,
    nodeArgs: prof ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
  });
  const c = clients(stack.redisUrl);
  try {
    await c.redis.config('SET', 'hash-max-listpack-value', '64');
    const admin = await lib.devToken(stack.url, 'admin');
    const t0 = Date.now();
    const far = Date.now() + 4 * 3600_000;
    await writeLeases(c, leases, (i) => far + Math.floor((i * 4 * 3600_000) / leases), { lanes: 2 });
    const setupS = (Date.now() - t0) / 1000;
    const memBefore = Number(/used_memory:(\d+)/.exec(await c.redis.info('memory'))[1]);
    const auditBefore = await c.redis.xlen('{leash}:audit');
    await c.redis.config('RESETSTAT');
    const before = { api: cpuSeconds(stack.api.pid), redis: cpuSeconds(stack.redis.pid) };
    const t1 = Date.now();
    const res = await lib.request(`${stack.url}/v1/admin/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
      body: { environment: 'staging', reason: 'bench: A/B' },
    });
    const ms = Date.now() - t1;
    const after = { api: cpuSeconds(stack.api.pid), redis: cpuSeconds(stack.redis.pid) };
    if (res.status !== 200) {
      throw new Error(`${label}: POST /v1/admin/revoke HTTP ${res.status} ${res.text.slice(0, 300)}`);
    }
    const body = res.json();
    const r = {
      label,
      setupS,
      ms,
      revoked: body.counts.revokedLeases,
      left: await c.redis.zcard('{leash}:leases:expiry'),
      apiCpu: after.api - before.api,
      redisCpu: after.redis - before.redis,
      auditEntries: (await c.redis.xlen('{leash}:audit')) - auditBefore,
      memDelta: Number(/used_memory:(\d+)/.exec(await c.redis.info('memory'))[1]) - memBefore,
    };
    // Redis time per command (calls made inside scripts included), the largest first.
    r.commands = (await c.redis.info('commandstats'))
      .split('\n')
      .map((l) => /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(l))
      .filter(Boolean)
      .map(([, name, calls, usec]) => ({ name, calls: Number(calls), usec: Number(usec) }))
      .sort((x, y) => y.usec - x.usec)
      .slice(0, 12);
    if (prof) {
      await stack.stopProcess(stack.api);
      const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      r.profile = file ? join(profDir, file) : undefined;
      r.top = file ? topFrames(r.profile) : [];
    }
    return r;
  } finally {
    await c.close();
    await stack.stop();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      a: { type: 'string' },
      b: { type: 'string', default: 'dist' },
      leases: { type: 'string', default: '100000' },
      turns: { type: 'string', default: '1' },
      prof: { type: 'boolean', default: false },
      label: { type: 'string', default: '' },
      out: { type: 'string' },
    },
  });
  const leases = Number(values.leases);
  const loadStart = os.loadavg();
  const results = [];
  const sides = values.a ? [['A', values.a], ['B', values.b]] : [['B', values.b]];
  for (let t = 0; t < Number(values.turns); t += 1) {
    for (const [label, dist] of sides) {
      const r = await oneTurn(label, resolve(dist), leases, values.prof);
      console.error(
        `${label}: ${leases} leases set up in ${fmt(r.setupS)} s; break glass ${fmt(r.ms / 1000, 2)} s ` +
          `(${fmt((r.revoked * 1000) / r.ms, 0)}/s), API CPU ${fmt(r.apiCpu, 2)} s, redis CPU ${fmt(r.redisCpu, 2)} s, load ${os.loadavg()[0].toFixed(1)}`,
      );
      console.error(
        `  redis commands (usec, calls): ${r.commands.map((x) => `${x.name} ${(x.usec / 1e6).toFixed(2)} s ×${x.calls}`).join(', ')}`,
      );
      if (r.top) {
        console.error(`${r.profile}\n${r.top.join('\n')}`);
      }
      results.push(r);
    }
  }
  const loadEnd = os.loadavg();
  const rows = results.map(
    (r) =>
      `| ${r.label} | ${fmt(r.ms / 1000, 2)} | ${fmt((r.revoked * 1000) / r.ms, 0)} | ${r.revoked} / ${r.left} | ${fmt(r.apiCpu, 2)} | ${fmt(r.redisCpu, 2)} | ${r.auditEntries} | ${fmt(r.memDelta / 2 ** 20, 1)} |`,
  );
  const md = `${values.label ? `#### ${values.label}\n\n` : ''}\`node bench/ab-break-glass.js --a ${values.a ?? '-'} --b ${values.b} --leases ${leases} --turns ${values.turns}${values.prof ? ' --prof' : ''}\` — ${new Date().toISOString()}, load average ${loadStart.map((x) => x.toFixed(1)).join(' ')} → ${loadEnd.map((x) => x.toFixed(1)).join(' ')} (${os.cpus().length} cores); builds in turns, a fresh stack each (Redis + API, no worker), ${leases.toLocaleString('en')} active jwt leases written through the store, then one \`POST /v1/admin/revoke {environment}\`.

| build | wall time (s) | leases/s | revoked / left in the expiry index | API CPU (s) | redis-server CPU (s) | audit entries added | Redis memory added (MiB) |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
  console.log(md);
  if (values.out) {
    appendFileSync(values.out, `\n${md}`);
  }
}

// bench/run.js requires every bench/*.js to find scenarios: run only when started as a program.
if (require.main === module) {
  main().then(
    () => lib.killStarted(),
    (err) => {
      lib.killStarted();
      process.stderr.write(`${err.stack}\n`);
      process.exitCode = 1;
    },
  );
}
