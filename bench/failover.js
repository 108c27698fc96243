'use strict';
// Sentinel failover mid-storm (SPEC §9: "Sentinel failover mid-storm: none missed"): a master, two replicas and
// three redis-sentinel processes; API and worker in LEASH_REDIS_MODE=sentinel; a storm of leases expiring evenly over
// a window; the master is killed with SIGKILL a third into the window. Reported: leases not revoked after the
// window (goal 0) and the revocation lag (revokedAt − expiresAt) p50/p99/max, of all leases and of those that
// expired between the kill and 10 s after the sentinels' +switch-master.
const { spawn } = require('node:child_process');
const { mkdtempSync, mkdirSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const { join } = require('node:path');
const { ROOT, freePort, percentile, fmt, recordActiveLease } = require('./lib');

const { RedisLeaseStore } = require(join(ROOT, 'dist/libs/leases/src/index.js'));
const { createRedisClient } = require(join(ROOT, 'dist/libs/broker/src/index.js'));
const { BullmqRevocationScheduler } = require(
  join(ROOT, 'dist/libs/broker/src/revocation/bullmq-revocation-scheduler.adapter.js'),
);
const { RandomIdGenerator } = require(join(ROOT, 'dist/libs/core/src/index.js'));

const PREFIX = '{leash}';
const MASTER = 'leash';
const ids = new RandomIdGenerator();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts a process and resolves once its output matches `ready`; every process goes into `procs`. */
function start(procs, name, cmd, args, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(child);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out.slice(-2000)}`)), 30000);
    const onData = (c) => {
      out = (out + c.toString()).slice(-20000);
      if (ready && ready.test(out)) {
        ready = undefined;
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (ready) {
        reject(new Error(`${name} exited ${code}:\n${out.slice(-2000)}`));
      }
    });
  });
}

async function startSentinelSet(procs) {
  const dir = mkdtempSync(join(os.tmpdir(), 'leash-bench-failover-'));
  const data = (port, extra) => [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec',
    '--dir', mkdirSync(join(dir, `n${port}`), { recursive: true }) ?? join(dir, `n${port}`), ...extra,
  ];
  const masterPort = await freePort();
  const master = await start(procs, 'master', 'redis-server', data(masterPort, []), /Ready to accept connections/);
  const replicaPorts = [await freePort(), await freePort()];
  for (const port of replicaPorts) {
    await start(procs, 'replica', 'redis-server', data(port, ['--replicaof', '127.0.0.1', String(masterPort)]), /MASTER <-> REPLICA sync: Finished with success/);
  }
  const sentinelPorts = [await freePort(), await freePort(), await freePort()];
  for (const port of sentinelPorts) {
    const conf = join(dir, `sentinel-${port}.conf`);
    writeFileSync(conf, [
      `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
      `sentinel monitor ${MASTER} 127.0.0.1 ${masterPort} 2`,
      `sentinel down-after-milliseconds ${MASTER} 2000`,
      `sentinel failover-timeout ${MASTER} 10000`,
      '',
    ].join('\n'));
    await start(procs, 'sentinel', 'redis-sentinel', [conf], /monitor master/);
  }
  return { dir, master, masterPort, replicaPorts, sentinelPorts, sentinels: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',') };
}

const sentinelConfig = (set) => ({
  mode: 'sentinel',
  sentinels: set.sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
  masterName: MASTER,
  auth: { tls: false },
  prefix: PREFIX,
  minReplicas: 0,
  replicaTimeoutMs: 2000,
});

/** Writes `count` jwt leases through the real store adapter and BullMQ producer, as a claim does. */
async function createStorm(set, count, expiresAtOf) {
  const redis = createRedisClient(sentinelConfig(set), { enableOfflineQueue: true });
  const store = new RedisLeaseStore(redis, PREFIX, 86400);
  const scheduler = new BullmqRevocationScheduler(() => createRedisClient(sentinelConfig(set), { enableOfflineQueue: true }), { attempts: 5, backoffMs: 1000, prefix: PREFIX });
  const leases = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < count) {
        const i = next++;
        const now = Date.now();
        const requestId = ids.requestId();
        const leaseId = ids.leaseId();
        const expiresAt = expiresAtOf(i);
        await recordActiveLease(store, { requestId, leaseId, principal: `agent-bench-${i % 100}`, sessionId: `s-${i % 1000}`, now, expiresAt });
        await scheduler.scheduleAtExpiry(leaseId, expiresAt, Date.now());
        leases.push({ leaseId, expiresAt });
      }
    }),
  );
  // As LEASH_REDIS_MIN_REPLICAS=1 does for a claim: every lease reached a replica before the kill.
  await redis.call('WAIT', 2, 10000);
  await scheduler.close();
  redis.disconnect();
  return leases;
}

async function lagOf(set, leases) {
  const redis = createRedisClient(sentinelConfig(set), { enableOfflineQueue: true });
  const lags = [];
  let missed = 0;
  for (let i = 0; i < leases.length; i += 500) {
    const batch = leases.slice(i, i + 500);
    const pipe = redis.pipeline();
    batch.forEach((l) => pipe.hmget(`${PREFIX}:lease:${l.leaseId}`, 'state', 'revokedAt'));
    (await pipe.exec()).forEach(([, [state, revokedAt]], j) => {
      if (state === 'revoked') {
        lags.push(Number(revokedAt) - batch[j].expiresAt);
      } else {
        missed += 1;
      }
    });
  }
  redis.disconnect();
  lags.sort((a, b) => a - b);
  return { count: leases.length, missed, p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags[lags.length - 1] };
}

async function runFailover(ctx, { storm, windowSeconds, leadMs, settleMs }) {
  const procs = [];
  try {
    const set = await startSentinelSet(procs);
    const stack = await ctx.startStack({
      workerConcurrency: 100,
      env: { LEASH_REDIS_MODE: 'sentinel', LEASH_REDIS_SENTINELS: set.sentinels, LEASH_REDIS_SENTINEL_MASTER: MASTER },
    });
    const { Redis } = require('ioredis');
    const watcher = new Redis(set.sentinelPorts[0], '127.0.0.1', { maxRetriesPerRequest: 1 });
    let switchedAt;
    watcher.on('message', () => (switchedAt ??= Date.now()));
    await watcher.subscribe('+switch-master');
    const stormStart = Date.now() + leadMs + storm * 3;
    const leases = await createStorm(set, storm, (i) => stormStart + Math.floor((i * windowSeconds * 1000) / storm));
    while (Date.now() < stormStart + (windowSeconds * 1000) / 3) {
      await sleep(50);
    }
    process.kill(set.master.pid, 'SIGKILL');
    const killedAt = Date.now();
    while (Date.now() < stormStart + windowSeconds * 1000 + settleMs || switchedAt === undefined) {
      if (Date.now() > killedAt + 120000) {
        throw new Error('the sentinels did not promote a replica within 120 s');
      }
      await sleep(200);
    }
    watcher.disconnect();
    const all = await lagOf(set, leases);
    const during = await lagOf(set, leases.filter((l) => l.expiresAt >= killedAt && l.expiresAt < switchedAt + 10000));
    await stack.stop();
    return { storm, windowSeconds, killToSwitchMs: switchedAt - killedAt, all, during };
  } finally {
    for (const child of procs) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
    }
  }
}

function section(r) {
  const line = (name, l) => `| ${name} | ${l.count} | ${l.missed} | ${fmt(l.p50, 0)} / ${fmt(l.p99, 0)} / ${fmt(l.max, 0)} |`;
  return `Master + 2 replicas + 3 sentinels (down after 2 s, quorum 2); API and worker in sentinel mode. ${r.storm.toLocaleString('en')} jwt leases (written through the store adapter, acknowledged by both replicas) expire evenly over ${r.windowSeconds} s; the master is killed with SIGKILL a third into the window; the sentinels announced the new master ${fmt(r.killToSwitchMs / 1000)} s after the kill. Lag = revokedAt − expiresAt from the lease records.

| leases | count | missed | lag p50 / p99 / max (ms) |
|---|---|---|---|
${line('all', r.all)}
${line('expired between the kill and 10 s after +switch-master', r.during)}
`;
}

module.exports.scenario = {
  name: 'failover',
  order: 35,
  title: 'Sentinel master killed mid-storm (issue 14, SPEC §9)',
  async run(ctx) {
    const r = await runFailover(ctx, {
      storm: ctx.num('BENCH_FAILOVER_STORM', 60, 3000),
      windowSeconds: ctx.pick(6, 30),
      leadMs: ctx.pick(3000, 10000),
      settleMs: ctx.pick(8000, 15000),
    });
    const { row } = ctx;
    return {
      rows: [
        row('Sentinel failover mid-storm: leases not revoked', r.all.missed, { op: '<=', goal: 0 }),
        row('Sentinel failover mid-storm: lag p99 (leases expiring during the failover)', r.during.p99, { unit: 'ms' }),
        row('Sentinel failover mid-storm: lag max', r.all.max, { unit: 'ms' }),
      ],
      markdown: section(r),
    };
  },
};
