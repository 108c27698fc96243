'use strict';
// Revocation lag with 100,000 active leases, Redis memory per lease, and a worker killed mid-storm.
// Leases are written through the real store adapter (the same Lua scripts the API uses) and the real BullMQ
// producer, so the worker does exactly what it does in production; only the HTTP front is skipped for speed.
const { join } = require('node:path');
const { ROOT, percentile, fmt, recordActiveLease } = require('./lib');

const { RedisLeaseStore } = require(join(ROOT, 'dist/libs/leases/src/index.js'));
const { createRedisClient } = require(join(ROOT, 'dist/libs/broker/src/index.js'));
const { BullmqRevocationScheduler } = require(join(ROOT, 'dist/libs/broker/src/revocation/bullmq-revocation-scheduler.adapter.js'));
const { RandomIdGenerator } = require(join(ROOT, 'dist/libs/core/src/index.js'));

const ids = new RandomIdGenerator();
const PREFIX = '{leash}';
const redisConfig = (url) => ({ mode: 'standalone', url, prefix: PREFIX, minReplicas: 0, replicaTimeoutMs: 2000 });

async function createLeases(stack, count, expiresAtOf, { schedule }) {
  const redis = createRedisClient(redisConfig(stack.redisUrl), { enableOfflineQueue: true });
  const store = new RedisLeaseStore(redis, PREFIX, 86400);
  const scheduler = new BullmqRevocationScheduler(() => createRedisClient(redisConfig(stack.redisUrl), { enableOfflineQueue: true }), { attempts: 5, backoffMs: 1000, prefix: PREFIX });
  const created = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < count) {
        const i = next++;
        const requestId = ids.requestId();
        const leaseId = ids.leaseId();
        const expiresAt = expiresAtOf(i);
        const now = Date.now();
        await recordActiveLease(store, { requestId, leaseId, principal: `agent-bench-${i % 100}`, sessionId: `s-${i % 1000}`, now, expiresAt });
        if (schedule) {
          await scheduler.scheduleAtExpiry(leaseId, expiresAt, Date.now());
        }
        created.push({ leaseId, expiresAt });
      }
    }),
  );
  await scheduler.close();
  redis.disconnect();
  return created;
}

async function usedMemory(redis) {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

async function lagOf(stack, leases, waitUntil) {
  const redis = createRedisClient(redisConfig(stack.redisUrl), { enableOfflineQueue: true });
  while (Date.now() < waitUntil) {
    await new Promise((r) => setTimeout(r, 1000));
  }
  const lags = [];
  let missed = 0;
  for (let i = 0; i < leases.length; i += 500) {
    const batch = leases.slice(i, i + 500);
    const pipe = redis.pipeline();
    batch.forEach((l) => pipe.hmget(`{leash}:lease:${l.leaseId}`, 'state', 'revokedAt'));
    const rows = await pipe.exec();
    rows.forEach(([, [state, revokedAt]], j) => {
      if (state !== 'revoked') {
        missed += 1;
      } else {
        lags.push(Number(revokedAt) - batch[j].expiresAt);
      }
    });
  }
  redis.disconnect();
  lags.sort((a, b) => a - b);
  return { count: leases.length, missed, p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags[lags.length - 1] };
}

async function runRevocation(stack, { active = 100000, storm = 10000, windowSeconds = 20, leadMs = 20000, settleMs = 10000, kill = true } = {}) {
  const redis = createRedisClient(redisConfig(stack.redisUrl), { enableOfflineQueue: true });
  const before = await usedMemory(redis);
  const t0 = Date.now();
  await createLeases(stack, active, () => Date.now() + 4 * 3600 * 1000, { schedule: false });
  const afterLeases = await usedMemory(redis);
  // Split the lease's own record from its request's record (sampled MEMORY USAGE).
  const sample = await redis.zrange('{leash}:leases:expiry', 0, 199);
  let leaseBytes = 0;
  let requestBytes = 0;
  for (const id of sample) {
    leaseBytes += Number(await redis.call('MEMORY', 'USAGE', `{leash}:lease:${id}`));
    // Compact records keep the request id in field `r`; records of earlier versions in the `data` JSON.
    const requestId = (await redis.hget(`{leash}:lease:${id}`, 'r')) ?? JSON.parse(await redis.hget(`{leash}:lease:${id}`, 'data')).requestId;
    requestBytes += Number(await redis.call('MEMORY', 'USAGE', `{leash}:req:${requestId}`));
  }
  redis.disconnect();
  // The active population gets its delayed jobs too (measured separately: BullMQ's share of memory).
  const redis2 = createRedisClient(redisConfig(stack.redisUrl), { enableOfflineQueue: true });
  const { Queue } = require('bullmq');
  const queue = new Queue('leash-revocations', { connection: createRedisClient(redisConfig(stack.redisUrl), { enableOfflineQueue: true }), prefix: '{leash}:bull' });
  const leaseIds = await redis2.zrange('{leash}:leases:expiry', 0, -1);
  for (let i = 0; i < leaseIds.length; i += 1000) {
    await queue.addBulk(leaseIds.slice(i, i + 1000).map((id) => ({ name: 'revoke-lease', data: { leaseId: id, reason: 'expired', actor: 'system' }, opts: { jobId: id, delay: 4 * 3600 * 1000, removeOnComplete: true, removeOnFail: true, attempts: 5, backoff: { type: 'exponential', delay: 1000 } } })));
  }
  const afterJobs = await usedMemory(redis2);
  await queue.close();
  redis2.disconnect();
  const setupSeconds = (Date.now() - t0) / 1000;

  // Storm: `storm` leases expiring evenly over `windowSeconds`, starting 20 s after they are created.
  const stormStart = Date.now() + leadMs + storm * 2;
  const stormLeases = await createLeases(stack, storm, (i) => stormStart + Math.floor((i * windowSeconds * 1000) / storm), { schedule: true });
  const lag = await lagOf(stack, stormLeases, stormStart + windowSeconds * 1000 + settleMs);
  const base = { active, setupSeconds, bytesPerLease: (afterLeases - before) / active, leaseRecordBytes: leaseBytes / sample.length, requestRecordBytes: requestBytes / sample.length, bytesPerLeaseWithJob: (afterJobs - before) / active, storm: { ...lag, windowSeconds, ratePerSecond: storm / windowSeconds } };
  if (!kill) {
    return base;
  }

  // Kill: the worker is SIGKILLed a third into a second storm and restarted 3 s later.
  const killStart = Date.now() + leadMs * 0.75 + storm * 2;
  const killLeases = await createLeases(stack, storm, (i) => killStart + Math.floor((i * windowSeconds * 1000) / storm), { schedule: true });
  while (Date.now() < killStart + (windowSeconds * 1000) / 3) {
    await new Promise((r) => setTimeout(r, 100));
  }
  stack.worker.removeAllListeners('exit');
  stack.worker.kill('SIGKILL');
  const killedAt = Date.now();
  await new Promise((r) => setTimeout(r, 3000));
  stack.worker = await stack.startWorker();
  const restartedAt = Date.now();
  const killLag = await lagOf(stack, killLeases, killStart + windowSeconds * 1000 + settleMs * 1.5);
  const afterRestart = killLeases.filter((l) => l.expiresAt >= restartedAt);
  const afterRestartLag = await lagOf(stack, afterRestart, 0);
  const duringOutage = killLeases.filter((l) => l.expiresAt < restartedAt && l.expiresAt >= killedAt);
  const outageLag = await lagOf(stack, duringOutage, 0);
  return {
    ...base,
    kill: { all: killLag, expiredDuringOutage: outageLag, expiredAfterRestart: afterRestartLag, downtimeMs: restartedAt - killedAt },
  };
}

function section(r) {
  const kill = r.kill
    ? `
Worker killed mid-storm (SPEC §9: no lease outlives its expiry by more than the reconciler period, ≤ 5 s): a second storm of ${r.kill.all.count.toLocaleString('en')} leases; the worker is SIGKILLed a third into the window and restarted ${fmt(r.kill.downtimeMs / 1000)} s later.

| leases | count | missed | lag p50 / p99 / max (ms) |
|---|---|---|---|
| all | ${r.kill.all.count} | ${r.kill.all.missed} | ${fmt(r.kill.all.p50, 0)} / ${fmt(r.kill.all.p99, 0)} / ${fmt(r.kill.all.max, 0)} |
| expired while no worker ran | ${r.kill.expiredDuringOutage.count} | ${r.kill.expiredDuringOutage.missed} | ${fmt(r.kill.expiredDuringOutage.p50, 0)} / ${fmt(r.kill.expiredDuringOutage.p99, 0)} / ${fmt(r.kill.expiredDuringOutage.max, 0)} |
| expired after the restart (none when the restart outlasts the window) | ${r.kill.expiredAfterRestart.count} | ${r.kill.expiredAfterRestart.missed} | ${fmt(r.kill.expiredAfterRestart.p50, 0)} / ${fmt(r.kill.expiredAfterRestart.p99, 0)} / ${fmt(r.kill.expiredAfterRestart.max, 0)} |
`
    : '';
  return `${r.active.toLocaleString('en')} active leases (with their delayed jobs) in Redis, then ${r.storm.count.toLocaleString('en')} leases expiring evenly over ${r.storm.windowSeconds} s (${fmt(r.storm.ratePerSecond, 0)}/s). Lag = revokedAt − expiresAt, read from the lease records.

| metric | value |
|---|---|
| lag p50 / p99 / max (ms) | ${fmt(r.storm.p50, 0)} / ${fmt(r.storm.p99, 0)} / ${fmt(r.storm.max, 0)} |
| missed (not revoked after the window) | ${r.storm.missed} |
| Redis memory per active lease: lease + its request + indexes (bytes) | ${fmt(r.bytesPerLease, 0)} |
| … of which the lease hash alone / the request hash alone (MEMORY USAGE, 200 sampled) | ${fmt(r.leaseRecordBytes, 0)} / ${fmt(r.requestRecordBytes, 0)} |
| … including its BullMQ delayed job (bytes) | ${fmt(r.bytesPerLeaseWithJob, 0)} |
| set-up of the active population (s) | ${fmt(r.setupSeconds)} |
${kill}`;
}

module.exports = { runRevocation, createLeases, lagOf, section };

module.exports.scenario = {
  name: 'revocation',
  order: 30,
  title: 'Revocation lag under a storm, memory per lease, worker killed mid-storm (SPEC §9)',
  async run(ctx) {
    const stack = await ctx.startStack({ workerConcurrency: 100 });
    const r = await runRevocation(stack, {
      active: ctx.num('BENCH_ACTIVE', 300, 100000),
      storm: ctx.num('BENCH_STORM', 100, 10000),
      ...(ctx.tiny ? { windowSeconds: 3, leadMs: 3000, settleMs: 3000, kill: false } : {}),
    });
    const { row } = ctx;
    return {
      rows: [
        row('revocation lag p99 in a storm', r.storm.p99, { unit: 'ms', op: '<=', goal: 500 }),
        row('leases not revoked after the storm', r.storm.missed, { op: '<=', goal: 0 }),
        row('Redis bytes per active lease (lease + request + indexes, without its job)', r.bytesPerLease, { unit: 'B' }),
        ...(r.kill ? [row('worker killed mid-storm: lag max', r.kill.all.max, { unit: 'ms', op: '<=', goal: 5000 })] : []),
      ],
      markdown: section(r),
    };
  },
};
