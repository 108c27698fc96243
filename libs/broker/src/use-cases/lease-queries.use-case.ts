import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { CoreError, CoreErrorCode, type AccessRequest, type Lease, type Principal } from '@leash/core';
import type { LeaseView, ListLeasesQuery } from '@leash/contracts';
import { LEASE_STORE, leaseIndexOf, type LeaseCursor, type LeaseFilter, type LeaseStore } from '@leash/leases';
import { forbidden, mayManageLease, notFound } from '../access-control';
import { Identities } from '../auth/identities';
import { toLeaseView } from '../views';

/** Index entries (and lease records) read per call at most, whatever the filters: the work of a page is bounded. */
export const LEASE_PAGE_SCAN = 1000;

const CursorSchema = z.union([
  z.strictObject({
    index: z.enum(['all', 'expiry', 'quarantine']),
    score: z.number().finite(),
    id: z.string().max(100),
  }),
  z.strictObject({ index: z.enum(['session', 'principal']), pos: z.number().int().min(-1e9).max(1e9) }),
  // A position in the list of every lease, counted from the first lease ever recorded.
  z.strictObject({ index: z.literal('all'), pos: z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER) }),
]);

function encodeCursor(c: LeaseCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(raw: string, filter: Pick<LeaseFilter, 'session' | 'principal' | 'state'>): LeaseCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const cursor = CursorSchema.safeParse(parsed);
  if (!cursor.success || cursor.data.index !== leaseIndexOf(filter)) {
    throw new CoreError(
      CoreErrorCode.Invalid,
      'cursor is not one this listing returned (pass `next` of the previous page with the same filters)',
    );
  }
  return cursor.data;
}

/**
 * Lists and reads leases: requesters see their own (same issuer and subject), approvers those of
 * requests their groups can approve, admins all. Listing is paged with an opaque cursor; each call
 * reads at most LEASE_PAGE_SCAN index entries, so a page may hold fewer than `limit` leases (even
 * none) and still have a `next`.
 */
@Injectable()
export class LeaseQueries {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    private readonly identities: Identities,
  ) {}

  async list(principal: Principal, query: ListLeasesQuery): Promise<LeaseView[]> {
    return (await this.page(principal, query)).leases;
  }

  async page(principal: Principal, query: ListLeasesQuery): Promise<{ leases: LeaseView[]; next?: string }> {
    const identity = this.identities.of(principal);
    const { cursor: raw, ...rest } = query;
    const limit = rest.limit ?? 100;
    const filter: LeaseFilter =
      identity.admin || identity.groups.length > 0 ? { ...rest, limit } : { ...rest, limit, principal: principal.id };
    const cursor = raw === undefined ? undefined : decodeCursor(raw, filter);
    if (identity.admin) {
      const page = await this.store.pageLeases(filter, cursor, Math.max(LEASE_PAGE_SCAN, limit));
      return {
        leases: page.items.map((i) => toLeaseView(i.lease)),
        ...(page.next ? { next: encodeCursor(page.next) } : {}),
      };
    }
    // Approvers see leases of the roles they can approve: the page is filtered lease by lease.
    const page = await this.store.pageLeases({ ...filter, limit: LEASE_PAGE_SCAN }, cursor, LEASE_PAGE_SCAN);
    const visible: Lease[] = [];
    for (const [i, item] of page.items.entries()) {
      if (!mayManageLease(item.lease, await this.requestOf(item.lease), principal, identity)) {
        continue;
      }
      visible.push(item.lease);
      if (visible.length >= limit) {
        const more = i < page.items.length - 1 || page.next !== undefined;
        return { leases: visible.map(toLeaseView), ...(more ? { next: encodeCursor(item.after) } : {}) };
      }
    }
    return { leases: visible.map(toLeaseView), ...(page.next ? { next: encodeCursor(page.next) } : {}) };
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
