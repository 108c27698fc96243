import { canonicalDigest, type AccessRequest } from '@leash/core';

/** The digest an approval is bound to: what was approved is exactly what gets issued. */
export function requestDigest(
  r: Pick<AccessRequest, 'role' | 'environment' | 'ttlSeconds' | 'context' | 'principal' | 'session' | 'scope' | 'roleFingerprint'>,
): string {
  return canonicalDigest({
    role: r.role,
    environment: r.environment,
    ttlSeconds: r.ttlSeconds,
    scope: r.scope ?? {},
    roleFingerprint: r.roleFingerprint ?? null,
    context: r.context,
    principal: r.principal,
    session: r.session?.id ?? null,
  });
}
