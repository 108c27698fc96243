import type { RequestContext, Risk, RiskFinding, RiskLevel } from '@leash/core';
import type { Finding, ParseOutcome } from './risk/finding';
import { kubernetesManifestFindings } from './risk/kubernetes';
import { looksLikeCommands, shellFindings } from './risk/shell';
import { looksLikeSql, sqlFindings } from './risk/sql';
import { terraformHclFindings, terraformPlanJsonFindings, terraformPlanTextFindings } from './risk/terraform';

export interface RiskInput {
  tier: 'dev' | 'staging' | 'production';
  privilege: 'read' | 'write' | 'admin';
  ttlSeconds: number;
  role: { id: string; provider: string };
  context?: RequestContext;
}

export const RISK_LEVELS: readonly RiskLevel[] = ['low', 'medium', 'high', 'critical'];

export const RiskReason = {
  Elevated: 'Elevated privileges required',
  Production: 'Affects production environment',
  ServiceImpact: 'Potential service impact',
  Security: 'Potential security risk',
  LongLived: 'Long-lived credential requested',
  NotUnderstood: 'plan not understood',
} as const;

const LONG_TTL_SECONDS = 4 * 3600;
const MAX_FINDINGS = 100;

/** What the plan text is, in the order the formats are tried (the most specific first). */
const PLAN_READERS: { source: string; read: (text: string) => ParseOutcome }[] = [
  { source: 'terraform-json', read: terraformPlanJsonFindings },
  { source: 'terraform-plan', read: terraformPlanTextFindings },
  { source: 'terraform-hcl', read: terraformHclFindings },
  { source: 'kubernetes', read: kubernetesManifestFindings },
  { source: 'sql', read: (t) => (looksLikeSql(t) ? sqlFindings(t) : { understood: false, findings: [] }) },
  {
    source: 'shell',
    read: (t) => (looksLikeCommands(t) ? shellFindings(t, false) : { understood: false, findings: [] }),
  },
];

/** Reads one block of plan text with the first reader that understands it. */
function readPlan(text: string): ParseOutcome {
  let partial: ParseOutcome | undefined;
  for (const reader of PLAN_READERS) {
    const outcome = reader.read(text);
    if (outcome.understood) {
      return outcome;
    }
    // A format recognised but not fully read (one SQL statement the parser refuses) still tells what it found.
    partial ??= outcome.findings.length > 0 ? outcome : undefined;
  }
  return partial ?? { understood: false, findings: [] };
}

/**
 * Markdown-style plans (prose with ``` fenced blocks) are read block by block, each at its own line offset;
 * anything else is read as one text.
 */
export function planFindings(plan: string): ParseOutcome {
  const fences = [...plan.matchAll(/^```[^\n]*\n([\s\S]*?)^```\s*$/gm)];
  if (fences.length === 0) {
    return readPlan(plan);
  }
  const findings: Finding[] = [];
  let understood = true;
  for (const f of fences) {
    const bodyStart = (f.index ?? 0) + f[0].indexOf('\n') + 1;
    const offset = plan.slice(0, bodyStart).split('\n').length - 1;
    const outcome = readPlan(f[1]);
    understood &&= outcome.understood;
    findings.push(...outcome.findings.map((x) => (x.line !== undefined ? { ...x, line: x.line + offset } : x)));
  }
  return { understood, findings };
}

/**
 * Pure risk assessment: level and human-readable reasons from the environment tier, the role's privilege,
 * the TTL and the request context, whose plan and command are read with real parsers (HCL, plan text and
 * JSON, Kubernetes YAML, SQL, shell). A plan that cannot be read says so and never lowers the level.
 */
export function assessRisk(input: RiskInput): Risk {
  const general: string[] = [];
  let score = 0;
  if (input.privilege !== 'read') {
    score += input.privilege === 'admin' ? 2 : 1;
    general.push(RiskReason.Elevated);
  }
  const production = input.tier === 'production';
  if (production) {
    score += 2;
    general.push(RiskReason.Production);
  } else if (input.tier === 'staging') {
    score += 1;
  }
  if (input.ttlSeconds > LONG_TTL_SECONDS) {
    score += 1;
    general.push(RiskReason.LongLived);
  }
  const findings: RiskFinding[] = [];
  let notUnderstood = false;
  const plan = input.context?.plan;
  if (plan !== undefined && plan.trim() !== '') {
    const outcome = planFindings(plan);
    notUnderstood ||= !outcome.understood;
    findings.push(...outcome.findings.map((f) => ({ ...f, field: 'plan' as const })));
  }
  const command = input.context?.command;
  if (command !== undefined && command.trim() !== '') {
    const outcome = shellFindings(command, true);
    notUnderstood ||= !outcome.understood;
    findings.push(...outcome.findings.map((f) => ({ ...f, field: 'command' as const })));
  }
  // "It touches production" is one fact however many resources say it; destroys and grants add up.
  let productionSeen = false;
  const kept = findings.slice(0, MAX_FINDINGS).map((f) => {
    if (!f.production) {
      return f;
    }
    const first = !productionSeen;
    productionSeen = true;
    return first ? f : { ...f, weight: 0 };
  });
  const impact = kept.some((f) => f.kind === 'impact' && f.weight > 0);
  const security = kept.some((f) => f.kind === 'security');
  if (impact) {
    general.push(RiskReason.ServiceImpact);
  }
  if (security) {
    general.push(RiskReason.Security);
  }
  if (notUnderstood) {
    general.push(RiskReason.NotUnderstood);
    score += 1;
  }
  score += kept.reduce((sum, f) => sum + f.weight, 0);
  let level = levelOf(score);
  // Anything destructive or touching IAM in production is at least high, whatever the role says; so is a
  // production plan nobody could read, and anything of the heaviest kind (DROP DATABASE, rm -rf /) anywhere.
  const atLeastHigh =
    kept.some((f) => f.weight >= 3) || (production && (notUnderstood || kept.some((f) => f.weight >= 2)));
  if (atLeastHigh && rank(level) < rank('high')) {
    level = 'high';
  }
  return { level, reasons: [...general, ...dedupe(kept.map(describe))], findings: kept };
}

/** A finding as a reason line: what, and where (line of the plan or the command). */
export function describe(f: RiskFinding): string {
  if (f.line === undefined) {
    return f.detail;
  }
  return `${f.detail} (${f.field === 'command' ? 'command ' : ''}line ${f.line})`;
}

export function rank(level: RiskLevel): number {
  return RISK_LEVELS.indexOf(level);
}

function levelOf(score: number): RiskLevel {
  if (score >= 6) {
    return 'critical';
  }
  if (score >= 4) {
    return 'high';
  }
  return score >= 2 ? 'medium' : 'low';
}

function dedupe(values: string[]): string[] {
  return [...new Set(values)];
}
