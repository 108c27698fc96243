import type { ApprovalRule, Channel, QuorumRequirement } from '@leash/core';
import type { HumanApproval, PolicyDocument, RiskRoute, RoleDefinition } from './policy.schema';

type QuorumRule = Extract<ApprovalRule, { kind: 'quorum' }>;
type GroupEntry = string | { group: string; quorum: number };

const ALL_CHANNELS: Channel[] = ['web', 'slack', 'api'];
// A Slack click proves no MFA, and a bare API call only what a token says: roles that require MFA take
// approvals in the web console (an MFA sign-in the broker asked for), plus `api` where the policy lists it.
const MFA_DEFAULT_CHANNELS: Channel[] = ['web'];
const MFA_CHANNELS: Channel[] = ['web', 'api'];

/** The role's own approval rule (before budget and risk routing). */
export function approvalRuleOf(doc: PolicyDocument, role: RoleDefinition): ApprovalRule {
  const a = role.approval;
  if (a === 'auto') {
    return { kind: 'auto', claimWindowSeconds: doc.defaults.claimWindow };
  }
  if ('auto' in a) {
    return {
      kind: 'auto',
      claimWindowSeconds: a.claimWindow ?? doc.defaults.claimWindow,
      ...(a.budget !== undefined ? { budgetPerHour: a.budget } : {}),
    };
  }
  return humanRuleOf(doc, a);
}

export function humanRuleOf(doc: PolicyDocument, a: HumanApproval): QuorumRule {
  return {
    kind: 'quorum',
    requirements: requirementsOf(a.groups, a.quorum),
    timeoutSeconds: a.timeout ?? doc.defaults.approvalTimeout,
    claimWindowSeconds: a.claimWindow ?? doc.defaults.claimWindow,
    requireMfa: a.requireMfa,
    ...(a.requireMfa ? { mfaMaxAgeSeconds: doc.defaults.mfaMaxAge } : {}),
    channels: a.channels ?? (a.requireMfa ? MFA_DEFAULT_CHANNELS : ALL_CHANNELS),
  };
}

function requirementsOf(groups: GroupEntry[], pooledQuorum?: number): QuorumRequirement[] {
  const pooled = groups.filter((g): g is string => typeof g === 'string');
  const requirements: QuorumRequirement[] = groups
    .filter((g): g is { group: string; quorum: number } => typeof g !== 'string')
    .map((g) => ({ groups: [g.group], quorum: g.quorum }));
  if (pooled.length > 0) {
    requirements.unshift({ groups: pooled, quorum: pooledQuorum ?? 1 });
  }
  return requirements;
}

/**
 * Adds a risk route's requirements to a rule. The result is never weaker than the input: every
 * requirement stays with at least its quorum, MFA once required stays required, channels only
 * shrink, and timeouts only shorten.
 */
export function strengthen(base: ApprovalRule, route: RiskRoute, doc: PolicyDocument): ApprovalRule {
  const extra = requirementsOf(route.groups);
  if (base.kind === 'auto' && extra.length === 0) {
    return base;
  }
  const from: QuorumRule =
    base.kind === 'quorum'
      ? base
      : {
          kind: 'quorum',
          requirements: [],
          timeoutSeconds: doc.defaults.approvalTimeout,
          claimWindowSeconds: base.claimWindowSeconds,
        };
  const requirements = from.requirements.map((r) => ({ groups: [...r.groups], quorum: r.quorum }));
  for (const req of extra) {
    const same = requirements.find(
      (r) => r.groups.length === req.groups.length && r.groups.every((g) => req.groups.includes(g)),
    );
    if (same) {
      same.quorum = Math.max(same.quorum, req.quorum);
    } else {
      requirements.push(req);
    }
  }
  const requireMfa = (from.requireMfa ?? false) || route.requireMfa;
  let channels = from.channels ?? ALL_CHANNELS;
  if (route.channels) {
    const allowed: readonly Channel[] = route.channels;
    const both = channels.filter((c) => allowed.includes(c));
    // Disjoint lists keep the base's channels: a route never opens a channel the role closed.
    channels = both.length > 0 ? both : channels;
  }
  if (requireMfa && !(from.requireMfa ?? false)) {
    // MFA added by the route: `api` stays only where the route itself lists it.
    const explicit: readonly Channel[] = route.channels ?? [];
    const mfa = channels.filter((c) => c === 'web' || (c === 'api' && explicit.includes('api')));
    channels = mfa.length > 0 ? mfa : MFA_DEFAULT_CHANNELS;
  } else if (requireMfa) {
    const mfa = channels.filter((c) => MFA_CHANNELS.includes(c));
    channels = mfa.length > 0 ? mfa : MFA_DEFAULT_CHANNELS;
  }
  return {
    kind: 'quorum',
    requirements,
    timeoutSeconds: Math.min(from.timeoutSeconds, route.timeout ?? from.timeoutSeconds),
    claimWindowSeconds: Math.min(from.claimWindowSeconds, route.claimWindow ?? from.claimWindowSeconds),
    requireMfa,
    ...(requireMfa ? { mfaMaxAgeSeconds: from.mfaMaxAgeSeconds ?? doc.defaults.mfaMaxAge } : {}),
    channels,
  };
}

/** How many distinct approvals a rule needs at least (0 for auto). */
export function approvalsNeeded(rule: ApprovalRule): number {
  return rule.kind === 'auto' ? 0 : rule.requirements.reduce((sum, r) => sum + r.quorum, 0);
}
