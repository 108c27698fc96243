import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { assessRisk, rank, RiskReason, type RiskInput } from './risk.assessor';

interface Case {
  name: string;
  tier: RiskInput['tier'];
  privilege: RiskInput['privilege'];
  plan?: string;
  command?: string;
  expect: { level: string; findings?: string[]; reasons?: string[]; absent?: string[] };
}

const dir = join(__dirname, '../../../test/fixtures/risk');
const corpora = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => [f.replace(/\.yaml$/, ''), parse(readFileSync(join(dir, f), 'utf8')) as Case[]] as const);

describe('risk corpus (test/fixtures/risk)', () => {
  it('has at least 30 realistic cases of each kind', () => {
    expect(Object.fromEntries(corpora.map(([kind, cases]) => [kind, cases.length >= 30]))).toEqual({
      kubectl: true,
      kubernetes: true,
      shell: true,
      sql: true,
      'terraform-hcl': true,
      'terraform-json': true,
      'terraform-plan': true,
    });
  });

  describe.each(corpora)('%s', (_kind, cases) => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
      const risk = assessRisk({
        tier: c.tier,
        privilege: c.privilege,
        ttlSeconds: 900,
        role: { id: 'r', provider: 'jwt' },
        context: {
          ...(c.plan !== undefined ? { plan: c.plan } : {}),
          ...(c.command !== undefined ? { command: c.command } : {}),
        },
      });
      const text = risk.reasons.join('\n');
      expect({ level: risk.level, reasons: risk.reasons }).toEqual({ level: c.expect.level, reasons: risk.reasons });
      for (const f of c.expect.findings ?? []) {
        expect(text).toContain(f);
      }
      for (const r of c.expect.reasons ?? []) {
        expect(risk.reasons).toContain(r);
      }
      for (const a of c.expect.absent ?? []) {
        expect(text).not.toContain(a);
      }
      // Every weighed finding says where it is.
      for (const f of (risk.findings ?? []).filter((x) => x.weight > 0)) {
        expect(f.line).toBeGreaterThan(0);
      }
      // A plan in the corpus is understood unless the case says otherwise.
      if (!(c.expect.reasons ?? []).includes(RiskReason.NotUnderstood) && !text.includes('not understood')) {
        expect(risk.reasons).not.toContain(RiskReason.NotUnderstood);
      }
      expect(rank(risk.level)).toBeGreaterThanOrEqual(0);
    });
  });
});
