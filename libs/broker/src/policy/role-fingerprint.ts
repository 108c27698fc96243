import { canonicalDigest } from '@leash/core';
import type { LoadedPolicy } from '@leash/policy';

/**
 * What a request was decided under: the whole role definition (provider, settings, approval rule,
 * approver groups, limits, allowed principals) and its environment's definition (tier, TTL limits).
 * Frozen into the request at creation and covered by its digest; a claim whose role no longer has
 * this fingerprint needs a new decision. Undefined when the policy no longer has the role.
 */
export function roleFingerprint(policy: LoadedPolicy, roleId: string, environment: string): string | undefined {
  const role = policy.document.roles.find((r) => r.id === roleId);
  if (!role) {
    return undefined;
  }
  const env = Object.hasOwn(policy.document.environments, environment)
    ? policy.document.environments[environment]
    : null;
  return canonicalDigest({ role, environment: env });
}

/** closedReason prefix of requests a policy reload closed; their claim answers 409 policy-changed. */
export const POLICY_CHANGED_PREFIX = 'policy changed: ';

export function isClosedByPolicyChange(request: { closedReason?: string }): boolean {
  return request.closedReason?.startsWith(POLICY_CHANGED_PREFIX) ?? false;
}
