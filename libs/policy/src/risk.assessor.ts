import type { RequestContext, Risk, RiskLevel } from '@leash/core';

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
} as const;

/** One thing found in the request context, with its weight towards the level. */
interface Finding {
  kind: 'impact' | 'security';
  weight: number;
  detail: string;
}

const LONG_TTL_SECONDS = 4 * 3600;
const PROD_NAMESPACE = /^(prod|production)([-_].*)?$/i;
const BROAD_ROLES = /(roles\/(owner|editor)|AdministratorAccess|cluster-admin|"\*:\*"|\bactions\s*=\s*\[\s*"\*"\s*\])/;

/**
 * Pure risk assessment: level and human-readable reasons from the environment tier, the role's
 * privilege, the TTL and the request context (Terraform plans, kubectl commands, SQL).
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
  const text = [input.context?.plan, input.context?.command].filter((t): t is string => !!t).join('\n');
  const findings = text ? [...terraformFindings(text), ...kubectlFindings(text), ...sqlFindings(text)] : [];
  if (findings.some((f) => f.kind === 'impact' && f.weight > 0)) {
    general.push(RiskReason.ServiceImpact);
  }
  if (findings.some((f) => f.kind === 'security')) {
    general.push(RiskReason.Security);
  }
  score += findings.reduce((sum, f) => sum + f.weight, 0);
  let level = levelOf(score);
  // Anything destructive or touching IAM in production is at least high, whatever the role says.
  if (production && findings.some((f) => f.weight >= 2) && rank(level) < rank('high')) {
    level = 'high';
  }
  return { level, reasons: [...general, ...dedupe(findings.map((f) => f.detail))] };
}

export function rank(level: RiskLevel): number {
  return RISK_LEVELS.indexOf(level);
}

function levelOf(score: number): RiskLevel {
  if (score >= 7) {
    return 'critical';
  }
  if (score >= 4) {
    return 'high';
  }
  return score >= 2 ? 'medium' : 'low';
}

function terraformFindings(plan: string): Finding[] {
  const out: Finding[] = [];
  // Resource headers: `  # google_storage_bucket.logs will be created` / `must be replaced` / `will be destroyed`.
  const header = /#\s+([\w.[\]"-]+?)\s+(will be created|will be updated in-place|must be replaced|will be destroyed)/g;
  const resources: { address: string; action: string; body: string }[] = [];
  const matches = [...plan.matchAll(header)];
  matches.forEach((m, i) => {
    const end = i + 1 < matches.length ? (matches[i + 1].index ?? plan.length) : plan.length;
    resources.push({ address: m[1], action: m[2], body: plan.slice(m.index ?? 0, end) });
  });
  for (const r of resources) {
    const type = r.address.replace(/^(module\.[\w-]+\.)+/, '').split('.')[0];
    if (r.action === 'will be destroyed' || r.action === 'must be replaced') {
      out.push({
        kind: 'impact',
        weight: 2,
        detail: `Terraform ${r.action === 'must be replaced' ? 'replaces' : 'destroys'} ${r.address}`,
      });
    }
    if (/_iam_|role_binding|rolebinding|iam_binding|iam_policy/i.test(type)) {
      out.push({ kind: 'security', weight: 2, detail: `Changes IAM: ${r.address}` });
      const broad = BROAD_ROLES.exec(r.body);
      if (broad) {
        out.push({ kind: 'security', weight: 1, detail: `Grants a broad role: ${broad[1]}` });
      }
    }
    if (type.startsWith('kubernetes_')) {
      const ns = /namespace\s*=\s*"([^"]+)"/.exec(r.body);
      if (ns && PROD_NAMESPACE.test(ns[1])) {
        out.push({ kind: 'impact', weight: 1, detail: `Changes ${r.address} in Kubernetes namespace ${ns[1]}` });
      }
    }
  }
  const summary = /Plan:\s*(\d+)\s+to add,\s*(\d+)\s+to change,\s*(\d+)\s+to destroy/.exec(plan);
  if (summary) {
    const [add, change, destroy] = summary.slice(1).map(Number);
    // Per-resource findings already weigh destroyed resources; the summary counts only without them.
    const weighed = out.some(
      (f) => f.detail.startsWith('Terraform destroys') || f.detail.startsWith('Terraform replaces'),
    );
    out.unshift({
      kind: 'impact',
      weight: destroy > 0 && !weighed ? 2 : 0,
      detail: `Terraform plan: ${add} to add, ${change} to change, ${destroy} to destroy`,
    });
  }
  return out;
}

function kubectlFindings(text: string): Finding[] {
  const out: Finding[] = [];
  for (const m of text.matchAll(/\bkubectl\s+(?:[^\n|;&]*?\s)?(delete|scale|drain|cordon)\b([^\n|;&]*)/g)) {
    const verb = m[1];
    const rest = m[2];
    if (verb === 'scale') {
      const replicas = /--replicas[= ](\d+)/.exec(rest);
      const zero = replicas !== null && Number(replicas[1]) === 0;
      out.push({
        kind: 'impact',
        weight: zero ? 2 : 1,
        detail: zero ? `kubectl scales to zero: ${m[0].trim()}` : `kubectl scales: ${m[0].trim()}`,
      });
    } else {
      out.push({ kind: 'impact', weight: 2, detail: `kubectl ${verb}: ${m[0].trim()}` });
    }
  }
  return out;
}

function sqlFindings(text: string): Finding[] {
  const out: Finding[] = [];
  // Split into statements; comments are dropped so "-- DROP" in a note does not count.
  const statements = text
    .replace(/--[^\n]*/g, '')
    .split(';')
    .map((s) => s.replace(/\s+/g, ' ').trim());
  for (const s of statements) {
    const ddl = /^(DROP|TRUNCATE|ALTER)\s+(TABLE|DATABASE|SCHEMA|INDEX|VIEW|COLUMN)?\s*([\w."`]+)?/i.exec(s);
    if (ddl) {
      const verb = ddl[1].toUpperCase();
      out.push({
        kind: 'impact',
        weight: verb === 'ALTER' ? 1 : 2,
        detail: `SQL ${verb}${ddl[2] ? ` ${ddl[2].toUpperCase()}` : ''}${ddl[3] ? ` ${ddl[3]}` : ''}`,
      });
    }
    const del = /^DELETE\s+FROM\s+([\w."`]+)(.*)$/i.exec(s);
    if (del && !/\bWHERE\b/i.test(del[2])) {
      out.push({ kind: 'impact', weight: 2, detail: `SQL DELETE without WHERE on ${del[1]}` });
    }
    const upd = /^UPDATE\s+([\w."`]+)\s+SET\b(.*)$/i.exec(s);
    if (upd && !/\bWHERE\b/i.test(upd[2])) {
      out.push({ kind: 'impact', weight: 2, detail: `SQL UPDATE without WHERE on ${upd[1]}` });
    }
  }
  return out;
}

function dedupe(values: string[]): string[] {
  return [...new Set(values)];
}
