'use strict';
// Issue 19 target 5, soak: API and worker RSS sampled during a mixed load (issue, approve, revoke, expire) of
// BENCH_SOAK_SECONDS (600 full, 20 tiny). The verdict is on the least-squares slope (MiB/min) of the samples after
// a warm-up (the first fifth): flat = |slope| ≤ BOUND for both processes.
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

async function runSoak(ctx) {
  const seconds = ctx.num('BENCH_SOAK_SECONDS', 20, 600);
  const concurrency = 4;
  const stack = await ctx.startStack();
  const tokens = {
    agent: await devToken(stack.url, 'agent-soak'),
    alice: await devToken(stack.url, 'alice'),
    admin: await devToken(stack.url, 'admin'),
  };
  const samples = [];
  const t0 = Date.now();
  const sample = () =>
    samples.push({
      t: (Date.now() - t0) / 60000,
      api: rssKb(stack.api.pid) / 1024,
      worker: rssKb(stack.worker.pid) / 1024,
    });
  sample();
  const sampler = setInterval(sample, ctx.pick(500, 2000));
  const counts = { expire: 0, revoke: 0, approve: 0 };
  let errors = 0;
  let firstError;
  let next = 0;
  const end = t0 + seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < end) {
          try {
            counts[await step(stack.url, tokens, next++)] += 1;
          } catch (err) {
            errors += 1;
            firstError ??= String(err.message).slice(0, 200);
          }
        }
      }),
    );
  } finally {
    clearInterval(sampler);
  }
  sample();
  const warm = samples.filter((s) => s.t >= samples[samples.length - 1].t / 5);
  const xs = warm.map((s) => s.t);
  const apiSlope = slope(
    xs,
    warm.map((s) => s.api),
  );
  const workerSlope = slope(
    xs,
    warm.map((s) => s.worker),
  );
  return { seconds, concurrency, samples, warm: warm.length, apiSlope, workerSlope, counts, errors, firstError };
}

module.exports = { runSoak, BOUND_MIB_PER_MIN };

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
    return {
      rows: [
        row('5. API RSS slope after warm-up, |MiB/min|', Math.abs(r.apiSlope), {
          unit: 'MiB/min',
          op: '<=',
          goal: BOUND_MIB_PER_MIN,
          note: `signed ${fmt(r.apiSlope, 3)}`,
        }),
        row('5. worker RSS slope after warm-up, |MiB/min|', Math.abs(r.workerSlope), {
          unit: 'MiB/min',
          op: '<=',
          goal: BOUND_MIB_PER_MIN,
          note: `signed ${fmt(r.workerSlope, 3)}`,
        }),
        row('5. soak operations that failed', r.errors, { op: '<=', goal: 0 }),
      ],
      markdown: `${r.seconds} s of mixed load, ${r.concurrency} clients in a closed loop: ${ops} operations (${fmt(ops / r.seconds)}/s) — ${r.counts.expire} issuances of 5 s leases left to expire (the worker revokes them), ${r.counts.revoke} issuances revoked at once with \`DELETE /v1/leases/:id\`, ${r.counts.approve} production requests approved by a human through the API and claimed (5 s leases); ${r.errors} errors${r.firstError ? ` (first: ${r.firstError})` : ''}.
RSS sampled every ${r.seconds > 60 ? 2 : 0.5} s; slope = least squares over the ${r.warm} samples after the first fifth (warm-up). Flat: |slope| ≤ ${BOUND_MIB_PER_MIN} MiB/min.

| | slope (MiB/min) | first / last sample (MiB) |
|---|---|---|
| API | ${fmt(r.apiSlope, 3)} | ${fmt(r.samples[0].api)} / ${fmt(r.samples[r.samples.length - 1].api)} |
| worker | ${fmt(r.workerSlope, 3)} | ${fmt(r.samples[0].worker)} / ${fmt(r.samples[r.samples.length - 1].worker)} |

Samples (minute: API / worker MiB): ${shown.map((s) => `${fmt(s.t, 1)}: ${fmt(s.api, 0)}/${fmt(s.worker, 0)}`).join(', ')}
`,
    };
  },
};
