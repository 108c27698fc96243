'use strict';
// `npm run bench`: runs the benchmark scenarios and appends their results to bench/RESULTS.md.
//
//   node bench/run.js [--scale tiny|full] [--only NAME[,NAME…]] [--results FILE] [--json FILE] [--list]
//
// --scale (or BENCH_SCALE): `full` (default) is what RESULTS.md reports; `tiny` runs every scenario in seconds
// (the smoke test in npm test) — tiny figures say nothing about speed. --only runs the named scenarios
// (repeatable or comma-separated). --results (or BENCH_RESULTS) is the file the run's markdown is appended to
// (default bench/RESULTS.md). --json writes the rows as JSON.
//
// Registering a scenario: any bench/*.js file that exports `scenario` is one (every bench/*.js is required to find
// them, so a file that is also a program runs its main only under `require.main === module`):
//
//   module.exports.scenario = {
//     name: 'memory',               // for --only
//     order: 20,                    // run order (ascending)
//     title: 'Memory per lease (issue 19 target 2)',
//     async run(ctx) { return { rows: [ctx.row('2. bytes per lease', 980, { unit: 'B', op: '<=', goal: 1024 })], markdown: '…' }; },
//   };
//
// ctx: { scale, tiny, pick(tinyValue, fullValue), num(ENV_NAME, tinyDefault, fullDefault), startStack(options),
// row(target, measured, {unit, op, goal, note}), fmt(n, digits), log(msg), artifacts (a directory for files such as
// CPU profiles) }. Stacks started through ctx.startStack are stopped after the scenario, also when it throws.
// Rows: { target, measured, unit, goal, ratio, verdict } (lib.row builds them); a scenario that throws gets one
// `error` row and the run goes on (exit code 1 at the end).
const { execFileSync } = require('node:child_process');
const { appendFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const { join, resolve } = require('node:path');
const { parseArgs } = require('node:util');
const lib = require('./lib');

const { fmt, row, machine } = lib;

function loadScenarios() {
  const scenarios = [];
  for (const file of readdirSync(__dirname).sort()) {
    if (!file.endsWith('.js') || file === 'run.js' || file === 'lib.js') {
      continue;
    }
    const mod = require(join(__dirname, file));
    if (mod.scenario) {
      scenarios.push({ order: 100, ...mod.scenario, file });
    }
  }
  return scenarios.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}

function commit() {
  try {
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: lib.ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: lib.ROOT,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${hash} (with uncommitted changes)` : hash;
  } catch {
    return 'unknown';
  }
}

const cell = (v) =>
  String(v ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');
const measuredText = (r) =>
  typeof r.measured === 'number'
    ? `${fmt(r.measured, Number.isInteger(r.measured) || Math.abs(r.measured) >= 100 ? 0 : 2)}${r.unit ? ` ${r.unit}` : ''}`
    : String(r.measured);

function summaryTable(rows) {
  const lines = ['| target | measured | goal | ratio | verdict |', '|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(
      `| ${cell(r.target)}${r.note ? ` (${cell(r.note)})` : ''} | ${cell(measuredText(r))} | ${cell(r.goal)} | ${r.ratio === null ? '' : fmt(r.ratio, 2)} | ${r.verdict} |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: process.env.BENCH_SCALE || 'full' },
      only: { type: 'string', multiple: true },
      results: { type: 'string', default: process.env.BENCH_RESULTS || join(__dirname, 'RESULTS.md') },
      json: { type: 'string' },
      list: { type: 'boolean', default: false },
    },
  });
  if (!['tiny', 'full'].includes(values.scale)) {
    throw new Error(`--scale must be tiny or full, not ${values.scale}`);
  }
  const scenarios = loadScenarios();
  if (values.list) {
    scenarios.forEach((s) => process.stdout.write(`${s.name}\t${s.title}\t(${s.file})\n`));
    return 0;
  }
  const only = (values.only ?? [])
    .flatMap((o) => o.split(','))
    .map((o) => o.trim())
    .filter(Boolean);
  const unknown = only.filter((o) => !scenarios.some((s) => s.name === o));
  if (unknown.length) {
    throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`);
  }
  const selected = only.length ? scenarios.filter((s) => only.includes(s.name)) : scenarios;
  const tiny = values.scale === 'tiny';
  const startedAt = new Date();
  const loadAtStart = os.loadavg();
  const artifacts = join(os.tmpdir(), `leash-bench-artifacts-${startedAt.toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(artifacts, { recursive: true });
  const command =
    `node bench/run.js ${process.argv.slice(2).join(' ')}`.trim() +
    (process.env.BENCH_SCALE ? ` (BENCH_SCALE=${process.env.BENCH_SCALE})` : '');
  const allRows = [];
  const sections = [];
  let failed = false;
  for (const s of selected) {
    const stacks = [];
    const ctx = {
      scale: values.scale,
      tiny,
      pick: (t, f) => (tiny ? t : f),
      num: (name, t, f) => (process.env[name] ? Number(process.env[name]) : tiny ? t : f),
      row,
      fmt,
      artifacts,
      log: (msg) => process.stderr.write(`[bench ${s.name}] ${msg}\n`),
      async startStack(options) {
        const stack = await lib.startStack(options);
        stacks.push(stack);
        return stack;
      },
    };
    const t0 = Date.now();
    ctx.log(`${s.title} (${values.scale})…`);
    let rows;
    let markdown = '';
    try {
      const out = await s.run(ctx);
      rows = out.rows ?? [];
      markdown = out.markdown ?? '';
      if (rows.length === 0) {
        throw new Error('the scenario returned no rows');
      }
    } catch (err) {
      failed = true;
      ctx.log(`failed: ${err.stack}`);
      rows = [
        {
          target: `${s.name}: scenario failed`,
          measured: String(err.message).split('\n')[0].slice(0, 200),
          unit: '',
          goal: '',
          ratio: null,
          verdict: 'error',
        },
      ];
    } finally {
      for (const stack of stacks) {
        await stack.stop().catch(() => undefined);
      }
    }
    for (const r of rows) {
      allRows.push({ scenario: s.name, ...r });
    }
    sections.push(
      `### ${s.title}\n\nScenario \`${s.name}\` (bench/${s.file}), ${fmt((Date.now() - t0) / 1000)} s.\n\n${summaryTable(rows)}\n\n${markdown.trim()}\n`,
    );
    process.stdout.write(`\n${s.name}:\n${summaryTable(rows)}\n`);
  }
  lib.killStarted();
  const loadAtEnd = os.loadavg();
  const md = `
## Run of ${startedAt.toISOString()} (scale ${values.scale})

Machine: ${machine()}. Commit: ${commit()}. Command: \`${command}\`. Load average at start ${loadAtStart.map((l) => l.toFixed(1)).join(' ')}, at end ${loadAtEnd.map((l) => l.toFixed(1)).join(' ')} (${os.cpus().length} cores). Artifacts (CPU profiles): ${artifacts}.
Load generator, Redis, API and worker share the machine, and other work may run on it too (see the load average): absolute figures are noisy, the ratios measured within one scenario of one run are what count.${tiny ? '\n**Tiny scale: a smoke run, the figures say nothing about speed.**' : ''}

| scenario | target | measured | goal | ratio | verdict |
|---|---|---|---|---|---|
${allRows.map((r) => `| ${r.scenario} | ${cell(r.target)} | ${cell(measuredText(r))} | ${cell(r.goal)} | ${r.ratio === null ? '' : fmt(r.ratio, 2)} | ${r.verdict} |`).join('\n')}

${sections.join('\n')}`;
  const resultsPath = resolve(values.results);
  if (!existsSync(resultsPath)) {
    writeFileSync(resultsPath, '# Benchmark results\n\nEach `npm run bench` appends one run below.\n');
  }
  appendFileSync(resultsPath, md);
  if (values.json) {
    writeFileSync(
      values.json,
      JSON.stringify(
        { scale: values.scale, startedAt: startedAt.toISOString(), loadAtStart, loadAtEnd, rows: allRows },
        null,
        2,
      ),
    );
  }
  process.stdout.write(`\nAppended to ${resultsPath}\n`);
  return failed ? 1 : 0;
}

main()
  .then((code) => {
    // Keep-alive sockets and BullMQ connections of the scenarios would keep the process alive.
    process.exit(code);
  })
  .catch((err) => {
    lib.killStarted();
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
