import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type AccessRequest, type Clock } from '@leash/core';
import { matchingPrincipalMatcher, type LoadedPolicy } from '@leash/policy';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { POLICY_CHANGED_PREFIX, roleFingerprint } from '../policy/role-fingerprint';
import { NotifyApprovers } from './notify-approvers.service';

const BATCH = 10_000;

/**
 * After a reload, pending and approved-but-unclaimed requests stay open only if their role and
 * environment are defined exactly as when they were decided and the new policy still allows them.
 * Otherwise (role removed or changed in any setting, approver groups or limits; environment no
 * longer served; requester no longer matched) they are expired with the reason, the approvers'
 * messages say so, and a claim answers 409 policy-changed: what was approved is what is issued.
 */
@Injectable()
export class ApplyPolicyChange {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly notify: NotifyApprovers,
  ) {}

  async execute(policy: LoadedPolicy): Promise<{ expired: string[] }> {
    const expired: string[] = [];
    for (const id of await this.store.openRequests(BATCH)) {
      const found = await this.store.getRequest(id);
      if (!found || (found.request.state !== 'pending' && found.request.state !== 'approved')) {
        continue;
      }
      const reason = deniedBy(policy, found.request) ?? changedBy(policy, found.request);
      if (reason === undefined) {
        continue;
      }
      const closedReason = `${POLICY_CHANGED_PREFIX}policy ${policy.version} needs a new decision: ${reason}`;
      const moved = await this.store.transitionRequest({
        id,
        from: [found.request.state],
        to: 'expired',
        now: this.clock.now(),
        expiresAt: null,
        reason: closedReason,
      });
      if (!moved.ok) {
        continue;
      }
      expired.push(id);
      await this.audit.append({
        actor: { id: 'system', channel: 'system' },
        action: 'request.expired',
        requestId: id,
        sessionId: found.request.session?.id,
        role: found.request.role,
        environment: found.request.environment,
        policyVersion: policy.version,
        details: { reason: closedReason, createdUnder: found.request.policyVersion },
      });
      this.notify.update({ ...found.request, state: 'expired', closedReason }, { kind: 'expired' });
    }
    return { expired };
  }
}

function changedBy(policy: LoadedPolicy, request: AccessRequest): string | undefined {
  return roleFingerprint(policy, request.role, request.environment) === request.roleFingerprint
    ? undefined
    : `role "${request.role}" changed since the request was decided`;
}

function deniedBy(policy: LoadedPolicy, request: AccessRequest): string | undefined {
  const role = policy.document.roles.find((r) => r.id === request.role);
  if (!role) {
    return `role "${request.role}" was removed`;
  }
  if (!role.environments.includes(request.environment) || !(request.environment in policy.document.environments)) {
    return `role "${role.id}" no longer serves environment "${request.environment}"`;
  }
  const principal = {
    id: request.principal,
    issuer: request.issuer,
    groups: request.principalGroups ?? [],
    ...(request.owner ? { owner: request.owner } : {}),
    ...(request.principalEmail ? { email: request.principalEmail } : {}),
  };
  if (matchingPrincipalMatcher(role, principal) === undefined) {
    return `principal "${request.principal}" is no longer allowed to request role "${role.id}"`;
  }
  return undefined;
}
