'use strict';
// Redis memory per active lease (issue 19 target 2, SPEC §9: ≤ 1 KiB, everything but audit counted).
// Active leases are written through the real store adapter (the Lua scripts the API runs at a claim) with a request
// shaped like the API's (demo-staging-read: scope, role fingerprint, agent session), expiring in 4 h, on a Redis with
// its default hash encoding limits (hash-max-listpack-value 64; the bench stack raises it, production Redis does not).
// Counted: the lease, its request record, every index, and its scheduled revocation. With the hand-over (a job only
// for leases due within seconds) an active lease far from expiry has no job; the row "with a per-lease job" adds the
// delayed job every lease had before, for comparison.
const { join } = require('node:path');
const { ROOT, distDir, fmt, recordActiveLease } = require('./lib');

const PREFIX = '{leash}';
const load = (path) => require(join(distDir(), path));

async function usedMemory(redis) {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
}

/** `count` active leases through the store, 64 at a time; returns their ids. */
async function createActiveLeases(redisUrl, count, expiresAt) {
  const { RedisLeaseStore } = load('libs/leases/src/index.js');
  const { createRedisClient } = load('libs/broker/src/index.js');
  const { RandomIdGenerator } = load('libs/core/src/index.js');
  const ids = new RandomIdGenerator();
  const config = { mode: 'standalone', url: redisUrl, prefix: PREFIX, minReplicas: 0, replicaTimeoutMs: 2000 };
  const redis = createRedisClient(config, { enableOfflineQueue: true });
  const store = new RedisLeaseStore(redis, PREFIX, 86400);
  const leases = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < count) {
        const i = next++;
        const now = Date.now();
        const requestId = ids.requestId();
        const leaseId = ids.leaseId();
        const principal = `agent-bench-${i % 100}`;
        const sessionId = `sess-${(i % 1000).toString().padStart(6, '0')}`;
        await recordActiveLease(store, { requestId, leaseId, principal, sessionId, now, expiresAt });
        leases.push({ leaseId, requestId, sessionId, principal });
      }
    }),
  );
  await store.close();
  redis.disconnect();
  return leases;
}

async function keysUsage(redis, pattern) {
  let cursor = '0';
  let total = 0;
  let keys = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) {
      total += Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
      keys += 1;
    }
  } while (cursor !== '0');
  return { total, keys };
}

async function runMemory(redisUrl, { count }) {
  const { Redis } = require(join(ROOT, 'node_modules', 'ioredis'));
  const { Queue } = require(join(ROOT, 'node_modules', 'bullmq'));
  const redis = new Redis(redisUrl);
  try {
    // Production Redis keeps its default encoding limits; the bench stack raises this one.
    await redis.config('SET', 'hash-max-listpack-value', '64');
    // A worker's hand-over has run (as in production): claims leave far-off leases to it.
    await redis.hset(`${PREFIX}:leases:handover`, 'reserved', String(Date.now()), 'done', String(Date.now()));
    const before = await usedMemory(redis);
    const t0 = Date.now();
    const leases = await createActiveLeases(redisUrl, count, Date.now() + 4 * 3600 * 1000);
    const setupSeconds = (Date.now() - t0) / 1000;
    const afterLeases = await usedMemory(redis);
    const jobsBefore = await redis.zcard(`${PREFIX}:bull:leash-revocations:delayed`);

    const sample = leases.slice(0, Math.min(200, leases.length));
    let leaseBytes = 0;
    let requestBytes = 0;
    for (const l of sample) {
      leaseBytes += Number(await redis.call('MEMORY', 'USAGE', `${PREFIX}:lease:${l.leaseId}`));
      requestBytes += Number(await redis.call('MEMORY', 'USAGE', `${PREFIX}:req:${l.requestId}`));
    }
    const usage = async (key) => Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
    const expiryIndex = await usage(`${PREFIX}:leases:expiry`);
    // The index of every lease: a list in recording order (the sorted set by issue time before).
    const allIndex = (await usage(`${PREFIX}:leases:recorded`)) + (await usage(`${PREFIX}:leases:all`));
    const sessionSets = await keysUsage(redis, `${PREFIX}:session:*:lease*`);
    const principalSets = await keysUsage(redis, `${PREFIX}:principal:*:lease*`);
    const sessionRequestSets = await keysUsage(redis, `${PREFIX}:session:*:req*`);
    const encodings = {
      lease: await redis.object('ENCODING', `${PREFIX}:lease:${leases[0].leaseId}`),
      request: await redis.object('ENCODING', `${PREFIX}:req:${leases[0].requestId}`),
    };

    // The schedule before the hand-over: one delayed BullMQ job per active lease.
    const queueConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue('leash-revocations', { connection: queueConnection, prefix: `${PREFIX}:bull` });
    for (let i = 0; i < leases.length; i += 1000) {
      await queue.addBulk(
        leases.slice(i, i + 1000).map((l) => ({
          name: 'revoke-lease',
          data: { leaseId: l.leaseId, reason: 'expired', actor: 'system' },
          opts: { jobId: l.leaseId, delay: 4 * 3600 * 1000, attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: true },
        })),
      );
    }
    const afterJobs = await usedMemory(redis);
    await queue.close();
    // A connection handed to BullMQ stays open after close(): it would retry the stopped Redis for ever.
    queueConnection.disconnect();
    return {
      count,
      setupSeconds,
      bytesPerLease: (afterLeases - before) / count,
      jobsForActiveLeases: jobsBefore,
      jobBytesPerLease: (afterJobs - afterLeases) / count,
      leaseRecordBytes: leaseBytes / sample.length,
      requestRecordBytes: requestBytes / sample.length,
      expiryIndexPerLease: expiryIndex / count,
      allIndexPerLease: allIndex / count,
      sessionSetsPerLease: sessionSets.total / count,
      principalSetsPerLease: principalSets.total / count,
      sessionRequestSetsPerLease: sessionRequestSets.total / count,
      encodings,
    };
  } finally {
    redis.disconnect();
  }
}

function section(r) {
  return `### Redis memory per active lease (${r.count.toLocaleString('en')} active leases, Redis default encoding limits)

INFO used_memory delta / leases, after writing them through the store (claim script: lease, request, indexes);
audit is not written here (excluded from the target). MEMORY USAGE per key type below (sampled).

| metric | value |
|---|---|
| bytes per active lease: lease + request + indexes + its scheduled revocation (hand-over: no job until due) | ${fmt(r.bytesPerLease, 0)} |
| revocation jobs existing for these leases (expiring in 4 h) | ${r.jobsForActiveLeases} |
| before the hand-over, a delayed BullMQ job per lease added (bytes per lease) | ${fmt(r.jobBytesPerLease, 0)} |
| lease record / request record (MEMORY USAGE, ${Math.min(200, r.count)} sampled; encodings ${r.encodings.lease} / ${r.encodings.request}) | ${fmt(r.leaseRecordBytes, 0)} / ${fmt(r.requestRecordBytes, 0)} |
| expiry index / all-leases index / session lease index / principal lease index / session request index, per lease | ${fmt(r.expiryIndexPerLease, 0)} / ${fmt(r.allIndexPerLease, 0)} / ${fmt(r.sessionSetsPerLease, 0)} / ${fmt(r.principalSetsPerLease, 0)} / ${fmt(r.sessionRequestSetsPerLease, 0)} |
| set-up through the store (s) | ${fmt(r.setupSeconds)} |
`;
}

module.exports = { runMemory, createActiveLeases, section };

module.exports.scenario = {
  name: 'memory',
  order: 25,
  title: 'Redis memory per active lease (issue 19 target 2)',
  async run(ctx) {
    const stack = await ctx.startStack({ worker: false });
    const r = await runMemory(stack.redisUrl, { count: ctx.num('BENCH_MEMORY_LEASES', 500, 100000) });
    const { row } = ctx;
    return {
      rows: [
        row('2. Redis bytes per active lease, everything but audit', r.bytesPerLease, { unit: 'B', op: '<=', goal: 1024 }),
        row('2. revocation jobs for leases not yet due', r.jobsForActiveLeases, { op: '<=', goal: 0 }),
        row('2. … a per-lease BullMQ job would add (before the hand-over)', r.jobBytesPerLease, { unit: 'B' }),
      ],
      markdown: section(r),
    };
  },
};
