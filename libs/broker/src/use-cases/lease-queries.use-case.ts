import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '@leash/core';
import type { LeaseView, ListLeasesQuery } from '@leash/contracts';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { forbidden, isPrivileged, notFound } from '../access-control';
import { POLICY_HOLDER } from '../broker.tokens';
import type { PolicyHolder } from '../policy/policy.holder';
import { toLeaseView } from '../views';

/** Lists and reads leases: requesters see their own, approvers and admins see all. */
@Injectable()
export class LeaseQueries {
  constructor(
    @Inject(POLICY_HOLDER) private readonly policy: PolicyHolder,
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
  ) {}

  async list(principal: Principal, query: ListLeasesQuery): Promise<LeaseView[]> {
    const privileged = isPrivileged(this.policy.current.document, principal);
    const leases = await this.store.listLeases({
      ...query,
      limit: query.limit ?? 100,
      ...(privileged ? {} : { principal: principal.id }),
    });
    return leases.map(toLeaseView);
  }

  async get(principal: Principal, id: string): Promise<LeaseView> {
    const lease = await this.store.getLease(id);
    if (!lease) {
      throw notFound(`lease ${id}`);
    }
    if (lease.principal !== principal.id && !isPrivileged(this.policy.current.document, principal)) {
      throw forbidden('only the requester, approvers and admins may read this lease');
    }
    return toLeaseView(lease);
  }
}
