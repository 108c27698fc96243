'use strict';
// Issue 19 "profile first": the API runs with --cpu-prof under the issuance load (concurrency 32); the profile is
// summarised as the top 15 frames by self time, and written as a .cpuprofile (Chrome DevTools, speedscope) and as
// folded stacks (flamegraph.pl, speedscope, inferno) in the run's artifacts directory.
const { readdirSync, readFileSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');
const { closedLoop, devToken, fmt, ROOT } = require('./lib');
const { issueOnce } = require('./issuance');

function frameName(cf) {
  const file = cf.url ? relative(ROOT, cf.url.replace(/^file:\/\//, '')) : '';
  return `${cf.functionName || '(anonymous)'} ${file ? `${file}:${cf.lineNumber + 1}` : ''}`.trim();
}

/** Self time per frame (ms), total sampled time, and folded stacks, from a V8 .cpuprofile. */
function summarise(profile, window = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) {
    for (const c of n.children ?? []) {
      parent.set(c, n.id);
    }
  }
  // Only the samples inside [fromUs, toUs] of the profile's clock (the load window, not start-up or shutdown).
  const selfUs = new Map();
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (t >= (window.fromUs ?? -Infinity) && t <= (window.toUs ?? Infinity)) {
      selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
    }
  });
  const byFrame = new Map();
  const folded = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    const name = frameName(node.callFrame);
    byFrame.set(name, (byFrame.get(name) ?? 0) + us);
    total += us;
    const stack = [];
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur).callFrame;
      if (cf.functionName !== '(root)') {
        stack.unshift(frameName(cf).replace(/;/g, ','));
      }
    }
    const key = stack.join(';');
    folded.set(key, (folded.get(key) ?? 0) + us);
  }
  const top = [...byFrame.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([frame, us]) => ({ frame, ms: us / 1000, share: us / total }));
  return {
    totalMs: total / 1000,
    top,
    folded: [...folded.entries()].map(([k, v]) => `${k} ${Math.round(v)}`).join('\n'),
  };
}

async function runProfile(ctx, { seconds, concurrency = 32 }) {
  const dir = join(ctx.artifacts, 'cpu-profile-api');
  const stack = await ctx.startStack({ nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  const token = await devToken(stack.url, 'agent-profile');
  await closedLoop(() => issueOnce(stack.url, token), { concurrency, seconds: ctx.pick(1, 3) });
  const loadStart = Date.now();
  const load = await closedLoop(() => issueOnce(stack.url, token), { concurrency, seconds });
  const loadEnd = Date.now();
  await stack.stopProcess(stack.api); // SIGTERM: the profile is written at exit
  const exitAt = Date.now();
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    throw new Error(`no .cpuprofile in ${dir}`);
  }
  const profilePath = join(dir, file);
  // The profile ends when the process exits: place the load window on its clock from there.
  const profile = JSON.parse(readFileSync(profilePath, 'utf8'));
  const s = summarise(profile, {
    fromUs: profile.endTime - (exitAt - loadStart) * 1000,
    toUs: profile.endTime - (exitAt - loadEnd) * 1000,
  });
  const foldedPath = profilePath.replace(/\.cpuprofile$/, '.folded');
  writeFileSync(foldedPath, s.folded);
  return { load, profilePath, foldedPath, ...s, seconds, concurrency };
}

module.exports = { summarise, runProfile };

module.exports.scenario = {
  name: 'profile',
  order: 15,
  title: 'CPU profile of the API under the issuance load (issue 19: profile first)',
  async run(ctx) {
    const r = await runProfile(ctx, { seconds: ctx.num('BENCH_SECONDS', 2, 15) });
    const idle = r.top.filter((t) => /^\((idle|program|garbage collector)\)/.test(t.frame));
    const gc = r.top.find((t) => t.frame.startsWith('(garbage collector)'));
    return {
      rows: [
        ctx.row('profile: issuances per second under --cpu-prof', r.load.perSecond, { unit: '/s' }),
        ctx.row('profile: garbage collector share of API samples', (gc?.share ?? 0) * 100, { unit: '%' }),
      ],
      markdown: `${r.seconds} s of issuance at concurrency ${r.concurrency} against an API started with \`--cpu-prof\` (${fmt(r.load.perSecond)} issuances/s under the profiler; ${fmt(r.totalMs / 1000)} s of samples in the load window, of which idle/program ${fmt(idle.reduce((a, t) => a + t.share, 0) * 100)} %).
Profile: \`${r.profilePath}\` (open in Chrome DevTools or https://www.speedscope.app); folded stacks for a flame graph (\`flamegraph.pl\`, speedscope, inferno): \`${r.foldedPath}\`.

| # | frame (self time) | self ms | share |
|---|---|---|---|
${r.top
  .slice(0, 15)
  .map((t, i) => `| ${i + 1} | \`${t.frame.replace(/\|/g, '\\|')}\` | ${fmt(t.ms, 0)} | ${fmt(t.share * 100)} % |`)
  .join('\n')}
`,
    };
  },
};
