import { CoreError, CoreErrorCode, type AccessRequest, type Lease, type Principal } from '@leash/core';
import { groupsOfRule, sameIdentifier } from '@leash/approvals';
import type { ResolvedIdentity } from '@leash/policy';

export type Capacity = 'requester' | 'owner' | 'approver' | 'admin' | 'none';

/** The caller is the request's own principal: the same subject of the same issuer. */
export function isRequester(request: { principal: string; issuer: string }, who: Principal): boolean {
  return request.principal === who.id && request.issuer === who.issuer;
}

/** Members of a group that can approve this request (membership in an unrelated group gives nothing). */
export function canApprove(request: Pick<AccessRequest, 'approval'>, identity: ResolvedIdentity): boolean {
  return groupsOfRule(request.approval).some((g) => identity.groups.includes(g));
}

/** The capacities in which a caller may see a request. */
export function capacitiesFor(request: AccessRequest, who: Principal, identity: ResolvedIdentity): Capacity[] {
  const caps: Capacity[] = [];
  if (isRequester(request, who)) {
    caps.push('requester');
  }
  // The owner is named by the requester's token, so only identities of that issuer can be it.
  if (
    request.owner !== undefined &&
    who.issuer === request.issuer &&
    [who.id, who.email].some((id) => id !== undefined && sameIdentifier(id, request.owner as string))
  ) {
    caps.push('owner');
  }
  if (canApprove(request, identity)) {
    caps.push('approver');
  }
  if (identity.admin) {
    caps.push('admin');
  }
  return caps;
}

/** The lease's own principal (issuer and subject); leases recorded before `issuer` existed use the request's. */
export function ownsLease(
  lease: Pick<Lease, 'principal' | 'issuer'>,
  who: Principal,
  request?: Pick<AccessRequest, 'issuer'>,
): boolean {
  const issuer = lease.issuer ?? request?.issuer;
  return issuer !== undefined && lease.principal === who.id && issuer === who.issuer;
}

/** Who may read and revoke a lease: its requester, approvers of its request's groups, admins. */
export function mayManageLease(
  lease: Pick<Lease, 'principal' | 'issuer'>,
  request: Pick<AccessRequest, 'issuer' | 'approval'> | undefined,
  who: Principal,
  identity: ResolvedIdentity,
): boolean {
  return ownsLease(lease, who, request) || identity.admin || (request !== undefined && canApprove(request, identity));
}

export function forbidden(message: string): CoreError {
  return new CoreError(CoreErrorCode.Forbidden, message);
}

export function notFound(what: string): CoreError {
  return new CoreError(CoreErrorCode.NotFound, `${what} was not found`);
}
