import { CoreError, CoreErrorCode, type AccessRequest, type Principal } from '@leash/core';
import { approverGroupsOf, isAdmin, type PolicyDocument } from '@leash/policy';

export type Capacity = 'requester' | 'owner' | 'approver' | 'admin' | 'none';

export function isRequester(request: { principal: string; issuer?: string }, who: Principal): boolean {
  return request.principal === who.id && (request.issuer === undefined || request.issuer === who.issuer);
}

/** The capacities in which a caller may see a request. */
export function capacitiesFor(doc: PolicyDocument, request: AccessRequest, who: Principal): Capacity[] {
  const caps: Capacity[] = [];
  if (isRequester(request, who)) {
    caps.push('requester');
  }
  if (request.owner !== undefined && (request.owner === who.id || request.owner === who.email)) {
    caps.push('owner');
  }
  if (approverGroupsOf(doc, who).length > 0) {
    caps.push('approver');
  }
  if (isAdmin(doc, who)) {
    caps.push('admin');
  }
  return caps;
}

export function isPrivileged(doc: PolicyDocument, who: Principal): boolean {
  return isAdmin(doc, who) || approverGroupsOf(doc, who).length > 0;
}

export function forbidden(message: string): CoreError {
  return new CoreError(CoreErrorCode.Forbidden, message);
}

export function notFound(what: string): CoreError {
  return new CoreError(CoreErrorCode.NotFound, `${what} was not found`);
}
