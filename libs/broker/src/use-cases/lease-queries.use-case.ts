import { Inject, Injectable } from '@nestjs/common';
import type { AccessRequest, Lease, Principal } from '@leash/core';
import type { LeaseView, ListLeasesQuery } from '@leash/contracts';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { forbidden, mayManageLease, notFound } from '../access-control';
import { Identities } from '../auth/identities';
import { toLeaseView } from '../views';

/** Approvers see leases of the roles they can approve; the scan is widened so filtering still fills a page. */
const APPROVER_SCAN = 1000;

/**
 * Lists and reads leases: requesters see their own (same issuer and subject), approvers those of
 * requests their groups can approve, admins all.
 */
@Injectable()
export class LeaseQueries {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    private readonly identities: Identities,
  ) {}

  async list(principal: Principal, query: ListLeasesQuery): Promise<LeaseView[]> {
    const identity = this.identities.of(principal);
    const limit = query.limit ?? 100;
    if (identity.admin) {
      return (await this.store.listLeases({ ...query, limit })).map(toLeaseView);
    }
    const leases =
      identity.groups.length > 0
        ? await this.store.listLeases({ ...query, limit: Math.max(limit, APPROVER_SCAN) })
        : await this.store.listLeases({ ...query, limit, principal: principal.id });
    const visible: Lease[] = [];
    for (const lease of leases) {
      if (visible.length >= limit) {
        break;
      }
      if (mayManageLease(lease, await this.requestOf(lease), principal, identity)) {
        visible.push(lease);
      }
    }
    return visible.map(toLeaseView);
  }

  async get(principal: Principal, id: string): Promise<LeaseView> {
    const lease = await this.store.getLease(id);
    if (!lease) {
      throw notFound(`lease ${id}`);
    }
    if (!mayManageLease(lease, await this.requestOf(lease), principal, this.identities.of(principal))) {
      throw forbidden('only the requester, approvers of its role and admins may read this lease');
    }
    return toLeaseView(lease);
  }

  private async requestOf(lease: Lease): Promise<AccessRequest | undefined> {
    return (await this.store.getRequest(lease.requestId))?.request;
  }
}
