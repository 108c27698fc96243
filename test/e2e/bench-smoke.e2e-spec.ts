import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// `npm run bench` at tiny scale: every registered scenario runs end to end against real processes and prints its
// target rows with numbers. Speed is not judged here (tiny figures say nothing, and tests carry no timing
// thresholds); what a user would notice is judged: a scenario that breaks, a target that prints no number, a run
// that writes over the repository's bench/RESULTS.md when told to write elsewhere, processes left running.
const ROOT = join(__dirname, '..', '..');
const REPO_RESULTS = join(ROOT, 'bench', 'RESULTS.md');

interface Row {
  scenario: string;
  target: string;
  measured: unknown;
  goal: string;
  ratio: number | null;
  verdict: string;
}

function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; child: ChildProcess }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench', 'run.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => resolve({ code, out, child }));
  });
}

/**
 * Pids of processes whose command line, environment or working directory names `dir` (the bench's Redis, API and
 * worker live under it; redis-server rewrites its command line and environment, so its working directory tells).
 */
function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cmdline.includes(dir) || environ.includes(dir) || cwd.startsWith(dir)) {
        pids.push(Number(entry));
      }
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

const sha = (file: string) =>
  existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : 'absent';

describe('benchmarks at tiny scale (npm run bench smoke test)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'leash-bench-smoke-'));
  const results = join(dir, 'RESULTS.md');
  const json = join(dir, 'rows.json');
  let scenarios: string[] = [];
  let result: { code: number | null; out: string };
  let repoResultsBefore: string;

  beforeAll(async () => {
    repoResultsBefore = sha(REPO_RESULTS);
    const list = await run(['--list'], {});
    scenarios = list.out
      .trim()
      .split('\n')
      .map((l) => l.split('\t')[0]);
    // TMPDIR: every file and process of the run lives under `dir`, so leftovers can be found.
    result = await run(['--scale', 'tiny', '--results', results, '--json', json], { TMPDIR: dir, BENCH_SCALE: '' });
    // A bound for a hung run, not a speed judgement: about 2 minutes on an idle 2-core machine, 5+ under load.
  }, 900_000);

  afterAll(() => {
    for (const pid of processesUnder(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('runs every registered scenario, including the issue 19 targets 1, 4 and 5', () => {
    expect(scenarios).toEqual(expect.arrayContaining(['issuance', 'approval', 'soak']));
    expect({ code: result.code, tail: result.code === 0 ? '' : result.out.slice(-3000) }).toEqual({
      code: 0,
      tail: '',
    });
    const rows = (JSON.parse(readFileSync(json, 'utf8')) as { scale: string; rows: Row[] }).rows;
    expect(new Set(rows.map((r) => r.scenario))).toEqual(new Set(scenarios));
    for (const prefix of [
      '1. issuance HTTP rate',
      '1. issuance p99',
      '1. ceiling: minimal issuance HTTP rate',
      '4. approval via API',
      '4. approval via console',
      '5. API RSS slope',
      '5. worker RSS slope',
    ]) {
      expect(rows.filter((r) => r.target.startsWith(prefix)).length).toBe(1);
    }
  });

  it('prints every target row with a number, and a ratio (for a non-zero goal) and a verdict where it has a goal', () => {
    const rows = (JSON.parse(readFileSync(json, 'utf8')) as { rows: Row[] }).rows;
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect({ target: r.target, numeric: typeof r.measured === 'number' && Number.isFinite(r.measured) }).toEqual({
        target: r.target,
        numeric: true,
      });
      expect(['pass', 'FAIL', 'info']).toContain(r.verdict);
      if (r.goal && !/^[≤=] 0( |$)/.test(r.goal)) {
        expect({ target: r.target, ratio: Number.isFinite(r.ratio) }).toEqual({ target: r.target, ratio: true });
      }
      // The printed summary carries the same row.
      expect(result.out).toContain(r.target.replace(/\|/g, '\\|'));
    }
  });

  it('appends the run (machine, load average, commit, command) to the file it was given, not to bench/RESULTS.md', () => {
    const md = readFileSync(results, 'utf8');
    expect(md).toMatch(/## Run of .* \(scale tiny\)/);
    expect(md).toMatch(/Machine: \d+ × .*Node v\d+/);
    expect(md).toMatch(/Commit: [0-9a-f]{7,}/);
    expect(md).toContain('Command: `node bench/run.js --scale tiny');
    expect(md).toMatch(/Load average at start \d+\.\d \d+\.\d \d+\.\d, at end \d+\.\d/);
    for (const s of scenarios) {
      expect(md).toContain(`Scenario \`${s}\``);
    }
    expect(sha(REPO_RESULTS)).toBe(repoResultsBefore);
  });

  it('leaves no Redis, API or worker process running', () => {
    expect(processesUnder(dir)).toEqual([]);
  });
});
