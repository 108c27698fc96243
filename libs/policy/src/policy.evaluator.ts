import { ApprovalRule, globMatch, Principal, QuorumRequirement, Risk } from '@leash/core';
import type { LoadedPolicy } from './policy.loader';
import type { MemberGroup, PolicyDocument, RoleDefinition } from './policy.schema';
import { assessRisk } from './risk.assessor';

export interface EvaluationInput {
  principal: Principal;
  role: string;
  environment: string;
  ttlSeconds?: number;
  plan?: string;
}

export type Evaluation =
  | { decision: 'denied'; reasons: string[]; policyVersion: string }
  | {
      decision: 'auto_approved' | 'needs_approval';
      role: RoleDefinition;
      ttlSeconds: number;
      approval: ApprovalRule;
      risk: Risk;
      policyVersion: string;
      reasons: string[];
    };

/** Decides whether a principal may request a role in an environment, and how it gets approved. */
export function evaluateRequest(policy: LoadedPolicy, input: EvaluationInput): Evaluation {
  const doc = policy.document;
  const denied = (reasons: string[]): Evaluation => ({
    decision: 'denied',
    reasons,
    policyVersion: policy.version,
  });
  const role = doc.roles.find((r) => r.id === input.role);
  const env = doc.environments[input.environment];
  if (!role) {
    return denied([`unknown role "${input.role}"`]);
  }
  if (!env) {
    return denied([`unknown environment "${input.environment}"`]);
  }
  const reasons: string[] = [];
  if (!role.environments.includes(input.environment)) {
    reasons.push(`role "${role.id}" does not serve environment "${input.environment}"`);
  }
  if (!principalAllowed(role, input.principal)) {
    reasons.push(`principal "${input.principal.id}" is not allowed to request role "${role.id}"`);
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
  const approval = approvalRuleOf(doc, role);
  const risk = assessRisk({
    tier: env.tier,
    privilege: role.privilege,
    ttlSeconds,
    plan: input.plan,
  });
  return {
    decision: approval.kind === 'auto' ? 'auto_approved' : 'needs_approval',
    role,
    ttlSeconds,
    approval,
    risk,
    policyVersion: policy.version,
    reasons: [approval.kind === 'auto' ? `role "${role.id}" is auto-approved` : `role "${role.id}" needs approval`],
  };
}

export function principalAllowed(role: RoleDefinition, principal: Principal): boolean {
  return role.principals.some((m) =>
    'sub' in m ? globMatch(m.sub, principal.id) : principal.groups.includes(m.group),
  );
}

export function approvalRuleOf(doc: PolicyDocument, role: RoleDefinition): ApprovalRule {
  const a = role.approval;
  if (a === 'auto') {
    return { kind: 'auto', claimWindowSeconds: doc.defaults.claimWindow };
  }
  if ('auto' in a) {
    return {
      kind: 'auto',
      claimWindowSeconds: a.claimWindow ?? doc.defaults.claimWindow,
    };
  }
  const pooled = a.groups.filter((g): g is string => typeof g === 'string');
  const requirements: QuorumRequirement[] = a.groups
    .filter((g): g is { group: string; quorum: number } => typeof g !== 'string')
    .map((g) => ({ groups: [g.group], quorum: g.quorum }));
  if (pooled.length > 0) {
    requirements.unshift({ groups: pooled, quorum: a.quorum ?? 1 });
  }
  return {
    kind: 'quorum',
    requirements,
    timeoutSeconds: a.timeout ?? doc.defaults.approvalTimeout,
    claimWindowSeconds: a.claimWindow ?? doc.defaults.claimWindow,
    ...(a.channels ? { channels: [...new Set(a.channels)] } : {}),
  };
}

/** The approver-group member a Slack user id is mapped to, if any (sub or email of the person). */
export function memberForSlackUser(
  doc: PolicyDocument,
  slackUserId: string,
): { sub: string } | { email: string } | undefined {
  for (const group of Object.values(doc.approverGroups)) {
    const member = group.members.find((m) => m.slack === slackUserId);
    if (member) {
      return 'sub' in member ? { sub: member.sub } : { email: member.email };
    }
  }
  return undefined;
}

function isMember(group: MemberGroup, principal: Principal): boolean {
  const listed = group.members.some((m) => ('sub' in m ? m.sub === principal.id : m.email === principal.email));
  return listed || group.idpGroups.some((g) => principal.groups.includes(g));
}

/** Approver groups of the policy that this principal belongs to. */
export function approverGroupsOf(doc: PolicyDocument, principal: Principal): string[] {
  return Object.entries(doc.approverGroups)
    .filter(([, group]) => isMember(group, principal))
    .map(([name]) => name);
}

export function isAdmin(doc: PolicyDocument, principal: Principal): boolean {
  return isMember(doc.admins, principal);
}
