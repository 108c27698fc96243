'use strict';
// SPEC §9: "with ≥ 2 workers, killing one changes nothing". Two workers share the revocation queue; a storm of
// leases expiring evenly over 20 s is revoked once with both alive (the baseline) and once with one of them
// SIGKILLed a third into the window and not restarted. Lag = revokedAt − expiresAt from the lease records.
const { fmt } = require('./lib');
const { createLeases, lagOf } = require('./revocation');

async function storm(stack, count, { windowSeconds, leadMs, settleMs, during }) {
  const start = Date.now() + leadMs + count * 2;
  const leases = await createLeases(stack, count, (i) => start + Math.floor((i * windowSeconds * 1000) / count), {
    schedule: true,
  });
  // Set-up slower than the lead (a loaded machine): leases were written after they were due, and their lag
  // measures the set-up, not revocation. Reported with the figures.
  const overrunMs = Math.max(0, Date.now() - start);
  if (during) {
    while (Date.now() < start + (windowSeconds * 1000) / 3) {
      await new Promise((r) => setTimeout(r, 50));
    }
    during();
  }
  return { ...(await lagOf(stack, leases, start + windowSeconds * 1000 + settleMs)), overrunMs };
}

module.exports.scenario = {
  name: 'workers',
  order: 35,
  title: 'Two workers, one killed mid-storm (SPEC §9: with ≥ 2 workers, killing one changes nothing)',
  async run(ctx) {
    const stack = await ctx.startStack({ workerConcurrency: 50 });
    const second = await stack.addWorker();
    const count = ctx.num('BENCH_STORM', 200, 10000);
    const shape = ctx.tiny
      ? { windowSeconds: 3, leadMs: 3000, settleMs: 3000 }
      : { windowSeconds: 20, leadMs: 15000, settleMs: 10000 };
    ctx.log(`workers: baseline storm of ${count} leases over ${shape.windowSeconds} s with two workers`);
    const baseline = await storm(stack, count, shape);
    let killedAt = 0;
    ctx.log('workers: second storm, one worker SIGKILLed a third into it (not restarted)');
    const killed = await storm(stack, count, {
      ...shape,
      during: () => {
        second.removeAllListeners('exit');
        second.kill('SIGKILL');
        killedAt = Date.now();
      },
    });
    const { row } = ctx;
    const overrun = Math.max(baseline.overrunMs, killed.overrunMs);
    const note = overrun > 0 ? `set-up overran the storm's start by ${fmt(overrun / 1000)} s: lags include it` : undefined;
    return {
      rows: [
        row('two workers, one killed mid-storm: lag p99', killed.p99, { unit: 'ms', op: '<=', goal: 500, note }),
        row('two workers, one killed mid-storm: leases not revoked', killed.missed, { op: '<=', goal: 0 }),
        row('two workers, one killed: lag max ÷ baseline lag max (same run)', killed.max / Math.max(1, baseline.max), {
          note: `${fmt(killed.max, 0)} ms against ${fmt(baseline.max, 0)} ms`,
        }),
      ],
      markdown: `${count.toLocaleString('en')} leases expiring evenly over ${shape.windowSeconds} s, twice, on two workers (concurrency 50 each). In the second storm one worker is SIGKILLed ${killedAt ? 'a third into the window' : '(kill not reached)'} and not restarted.

| storm | count | missed | lag p50 / p99 / max (ms) |
|---|---|---|---|
| both workers alive | ${baseline.count} | ${baseline.missed} | ${fmt(baseline.p50, 0)} / ${fmt(baseline.p99, 0)} / ${fmt(baseline.max, 0)} |
| one worker killed a third in | ${killed.count} | ${killed.missed} | ${fmt(killed.p50, 0)} / ${fmt(killed.p99, 0)} / ${fmt(killed.max, 0)} |
${note ? `\nNote: ${note}.\n` : ''}`,
    };
  },
};
