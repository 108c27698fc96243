import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

// The alert rules are checked and unit-tested by promtool (Debian's prometheus package), and every
// alert has at least one promtool case in which it fires.

const DIR = join(__dirname, '..', '..', 'deploy', 'observability');

function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

interface RuleTest {
  alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
}

describe('alert rules (promtool)', () => {
  it('promtool check rules accepts leash-alerts.yaml', () => {
    const run = promtool('check', 'rules', 'leash-alerts.yaml');
    expect(run.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(run.status).toBe(0);
  });

  it('promtool test rules passes every unit test', () => {
    const run = promtool('test', 'rules', 'leash-alerts.test.yaml');
    expect(run.output).toContain('SUCCESS');
    expect(run.status).toBe(0);
  });

  it('every alert has a unit test in which it fires, and one in which it stays quiet', () => {
    const rules = parse(readFileSync(join(DIR, 'leash-alerts.yaml'), 'utf8')) as {
      groups: { rules: { alert?: string }[] }[];
    };
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert)).filter((a): a is string => !!a);
    const tests = (parse(readFileSync(join(DIR, 'leash-alerts.test.yaml'), 'utf8')) as { tests: RuleTest[] }).tests;
    const cases = tests.flatMap((t) => t.alert_rule_test ?? []);
    const fires = new Set(cases.filter((c) => (c.exp_alerts ?? []).length > 0).map((c) => c.alertname));
    const quiet = new Set(cases.filter((c) => (c.exp_alerts ?? []).length === 0).map((c) => c.alertname));
    expect(alerts.filter((a) => !fires.has(a))).toEqual([]);
    expect(alerts.filter((a) => !quiet.has(a))).toEqual([]);
    expect(alerts).toEqual(
      expect.arrayContaining(['LeashApiDown', 'LeashWorkerDown', 'LeashStoreReset', 'LeashRedisOutOfMemory']),
    );
  });

  it('a dead worker is caught: the workers-gone case expects LeashWorkerDown to fire', () => {
    const tests = (
      parse(readFileSync(join(DIR, 'leash-alerts.test.yaml'), 'utf8')) as { tests: (RuleTest & { name: string })[] }
    ).tests;
    const gone = tests.find((t) => t.name.startsWith('workers gone'));
    expect(
      gone?.alert_rule_test?.some((c) => c.alertname === 'LeashWorkerDown' && (c.exp_alerts ?? []).length > 0),
    ).toBe(true);
  });
});
