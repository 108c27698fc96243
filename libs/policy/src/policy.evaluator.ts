import { globMatch, type ApprovalRule, type Principal, type RequestContext, type Risk } from '@leash/core';
import type { LoadedPolicy } from './policy.loader';
import type { RoleDefinition } from './policy.schema';
import { assessRisk, rank, RISK_LEVELS } from './risk.assessor';
import { approvalRuleOf, humanRuleOf, strengthen } from './approval-rules';

export const BUDGET_EXHAUSTED = 'auto-approval budget exhausted';

export interface EvaluationInput {
  principal: Principal;
  role: string;
  environment: string;
  ttlSeconds?: number;
  context?: RequestContext;
  /** True when the principal has spent the role's auto-approval budget for this hour. */
  autoBudgetExhausted?: boolean;
}

export type Evaluation =
  | { decision: 'denied'; reasons: string[]; matched: string[]; policyVersion: string }
  | {
      decision: 'auto_approved' | 'needs_approval';
      role: RoleDefinition;
      ttlSeconds: number;
      approval: ApprovalRule;
      risk: Risk;
      policyVersion: string;
      reasons: string[];
      matched: string[];
    };

/**
 * Decides whether a principal may request a role in an environment, how risky it is and how it
 * gets approved. Pure: the request flow and `POST /v1/policy/explain` both call exactly this.
 */
export function evaluateRequest(policy: LoadedPolicy, input: EvaluationInput): Evaluation {
  const doc = policy.document;
  const matched: string[] = [];
  const denied = (reasons: string[]): Evaluation => ({
    decision: 'denied',
    reasons,
    matched,
    policyVersion: policy.version,
  });
  const role = doc.roles.find((r) => r.id === input.role);
  const env = doc.environments[input.environment];
  if (!role) {
    return denied([`unknown role "${input.role}"`]);
  }
  matched.push(`role ${role.id} (provider ${role.provider}, privilege ${role.privilege})`);
  if (!env) {
    return denied([`unknown environment "${input.environment}"`]);
  }
  matched.push(`environment ${input.environment} (tier ${env.tier})`);
  const reasons: string[] = [];
  if (!role.environments.includes(input.environment)) {
    reasons.push(`role "${role.id}" does not serve environment "${input.environment}"`);
  }
  const matcher = matchingPrincipalMatcher(role, input.principal);
  if (matcher === undefined) {
    reasons.push(`principal "${input.principal.id}" is not allowed to request role "${role.id}"`);
  } else {
    matched.push(`principals[${matcher}] ${JSON.stringify(role.principals[matcher])}`);
  }
  const maxTtl = Math.min(role.maxTtl, env.maxTtl);
  const minTtl = role.minTtl ?? 1;
  const ttlSeconds = input.ttlSeconds ?? Math.max(minTtl, Math.min(env.defaultTtl ?? maxTtl, maxTtl));
  if (ttlSeconds > maxTtl) {
    reasons.push(`ttlSeconds ${ttlSeconds} exceeds the maximum of ${maxTtl} s for this role and environment`);
  }
  if (ttlSeconds < minTtl) {
    reasons.push(`ttlSeconds ${ttlSeconds} is below the role's minimum of ${minTtl} s`);
  }
  if (reasons.length > 0) {
    return denied(reasons);
  }
  const risk = assessRisk({
    tier: env.tier,
    privilege: role.privilege,
    ttlSeconds,
    role: { id: role.id, provider: role.provider },
    context: input.context,
  });
  const outcome: string[] = [];
  let approval = approvalRuleOf(doc, role);
  matched.push(`roles.${role.id}.approval (${approval.kind})`);
  const a = role.approval;
  if (approval.kind === 'auto' && typeof a === 'object' && 'auto' in a && a.overBudget && input.autoBudgetExhausted) {
    approval = humanRuleOf(doc, a.overBudget);
    matched.push(`roles.${role.id}.approval.overBudget`);
    outcome.push(BUDGET_EXHAUSTED);
  }
  for (const level of RISK_LEVELS) {
    const route = doc.riskRouting[level];
    if (route && rank(level) <= rank(risk.level)) {
      approval = strengthen(approval, route, doc);
      matched.push(`riskRouting.${level}`);
      outcome.push(`risk ${risk.level}: stricter rule of riskRouting.${level} applies`);
    }
  }
  const decision = approval.kind === 'auto' ? 'auto_approved' : 'needs_approval';
  outcome.unshift(
    decision === 'auto_approved' ? `role "${role.id}" is auto-approved` : `role "${role.id}" needs approval`,
  );
  return {
    decision,
    role,
    ttlSeconds,
    approval,
    risk,
    policyVersion: policy.version,
    reasons: outcome,
    matched,
  };
}

/** Index of the first principal matcher of the role that the principal satisfies. */
export function matchingPrincipalMatcher(role: RoleDefinition, principal: Principal): number | undefined {
  const index = role.principals.findIndex(
    (m) =>
      (m.sub === undefined || globMatch(m.sub, principal.id)) &&
      (m.email === undefined || (principal.email !== undefined && globMatch(m.email, principal.email))) &&
      (m.owner === undefined || (principal.owner !== undefined && globMatch(m.owner, principal.owner))) &&
      (m.group === undefined || principal.groups.some((g) => globMatch(m.group as string, g))),
  );
  return index === -1 ? undefined : index;
}

export function principalAllowed(role: RoleDefinition, principal: Principal): boolean {
  return matchingPrincipalMatcher(role, principal) !== undefined;
}
