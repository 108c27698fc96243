import { canonicalDigest } from './canonical-json';
import type { AccessRequest } from './domain';

/**
 * The digest an approval is bound to: what was approved is exactly what gets issued. In the core (not the
 * broker) because the lease store's record codec derives it again for records that do not hold it.
 */
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
