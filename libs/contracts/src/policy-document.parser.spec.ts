import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatPolicyProblem, parsePolicyText as sut } from './policy-document.parser';
import { policyJsonSchema } from './policy-json-schema';

const ROOT = join(__dirname, '../../..');
const demoText = readFileSync(join(ROOT, 'deploy/examples/demo-policy.yaml'), 'utf8');

describe('parsePolicyText', () => {
  it.each(['demo-policy.yaml', 'production-policy.yaml'])('accepts deploy/examples/%s', (file) => {
    const result = sut(readFileSync(join(ROOT, 'deploy/examples', file), 'utf8'), file);
    expect(result.ok ? [] : result.problems.map(formatPolicyProblem)).toEqual([]);
  });

  it.each([
    ['a YAML syntax error', demoText.replace('tier: staging', 'tier: [staging'), /demo\.yaml:\d+:\d+: \(yaml\)/],
    [
      'an unknown tier',
      demoText.replace('tier: staging', 'tier: qa'),
      /demo\.yaml:12:11: environments\.staging\.tier: Invalid option/,
    ],
    ['an unknown field', demoText.replace('maxTtl: 1h\n  production', 'maxTTL: 1h\n  production'), /Unrecognized key/],
    [
      'a bad duration',
      demoText.replace('defaultTtl: 15m', 'defaultTtl: 15 minutes'),
      /environments\.staging\.defaultTtl: .*duration/,
    ],
    [
      'an unknown approver group',
      demoText.replace('groups: [prod-approvers]', 'groups: [nobody]'),
      /unknown approver group "nobody"/,
    ],
    [
      'an unknown environment',
      demoText.replace('environments: [staging]', 'environments: [qa]'),
      /unknown environment "qa"/,
    ],
    [
      'requireMfa with slack',
      demoText.replace('requireMfa: true', 'requireMfa: true\n      channels: [web, slack]'),
      /cannot accept slack/,
    ],
    [
      'a budget without overBudget',
      demoText.replace('approval: auto', 'approval: { auto: true, budget: 3 }'),
      /a budget needs an overBudget rule/,
    ],
    [
      'an unknown admin group',
      demoText.replace('adminGroup: leash-admins', 'adminGroup: root'),
      /adminGroup: unknown approver group "root"/,
    ],
  ])('refuses %s with file, line, column and reason', (_name, text, expected) => {
    const result = sut(text, 'demo.yaml');
    expect(result.ok).toBe(false);
    const lines = result.ok ? [] : result.problems.map(formatPolicyProblem);
    expect(lines.join('\n')).toMatch(expected);
    expect(lines.every((l) => /^demo\.yaml:\d+:\d+: /.test(l))).toBe(true);
  });

  it('versions a policy by its content hash', () => {
    const a = sut(demoText, 'a.yaml');
    const b = sut(`${demoText}\n# changed\n`, 'a.yaml');
    expect(a.ok && b.ok && a.version !== b.version).toBe(true);
  });
});

describe('deploy/policy.schema.json', () => {
  it('is current with the zod schema (run node scripts/generate-policy-schema.js after a build)', () => {
    const committed = JSON.parse(readFileSync(join(ROOT, 'deploy/policy.schema.json'), 'utf8')) as unknown;
    expect(committed).toEqual(policyJsonSchema());
  });
});
