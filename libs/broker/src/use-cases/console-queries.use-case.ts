import { Inject, Injectable } from '@nestjs/common';
import {
  CLOCK,
  CoreError,
  CoreErrorCode,
  type AccessRequest,
  type Approval,
  type Clock,
  type Principal,
  type RiskLevel,
} from '@leash/core';
import type { LeaseView, RequestView } from '@leash/contracts';
import {
  ApprovalError,
  assertEligibleApprover,
  checkMfa,
  mfaRequirementOf,
  PENDING_REQUEST_INDEX,
  type LoginEvidence,
  type MfaCheck,
  type MfaRequirement,
  type PendingAudience,
  type PendingRequestIndex,
} from '@leash/approvals';
import type { ResolvedIdentity } from '@leash/policy';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditEvent, type AuditLog } from '@leash/audit';
import { capacitiesFor, forbidden, mayManageLease, notFound, type Capacity } from '../access-control';
import { Identities } from '../auth/identities';
import { POLICY_HOLDER, PUBLIC_URL } from '../broker.tokens';
import type { PolicyHolder } from '../policy/policy.holder';
import { toLeaseView, toRequestView } from '../views';

export interface PendingFilter {
  environment?: string;
  risk?: RiskLevel;
  role?: string;
}

export interface DecisionAvailability {
  /** Whether this viewer may approve or deny now; when not, `reason` says why in plain words. */
  allowed: boolean;
  reason?: string;
  /** The viewer could decide after signing in again with MFA. */
  needsMfaLogin: boolean;
  approvedByViewer: boolean;
}

export interface RequestDetail {
  view: RequestView;
  provider: string;
  /** The role's scope as the current policy states it (the digest binds the one approved). */
  scope: unknown;
  lease?: LeaseView;
  capacities: Capacity[];
  viewerGroups: string[];
  mfa: MfaRequirement & { check: MfaCheck };
  decision: DecisionAvailability;
  sessionRequests: RequestView[];
  sessionLeases: LeaseView[];
  audit: AuditEvent[];
}

/** Requests shown on one page of the pending queue; the page says how many more there are. */
export const PENDING_PAGE = 100;
const LEGACY_BATCH = 100;

export interface PendingQueue {
  items: RequestView[];
  /** Requests matching the filter that the viewer may approve, shown or not. */
  total: number;
  notShown: number;
}

/** Read models of the approver console: the pending queue and one request laid out for a decision. */
@Injectable()
export class ConsoleQueries {
  constructor(
    @Inject(POLICY_HOLDER) private readonly policy: PolicyHolder,
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(PENDING_REQUEST_INDEX) private readonly pendingIndex: PendingRequestIndex,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PUBLIC_URL) private readonly publicUrl: string,
    private readonly identities: Identities,
  ) {}

  /**
   * The pending queue: ordered by risk (critical, high, medium, low), then age (oldest first); approvers
   * see what their groups can approve, admins everything. The index orders, filters and counts, so a
   * page costs one index read (O(log N + limit) for one approver group or admins, a union in Redis
   * otherwise) and `limit` request reads, however long the queue.
   */
  async pending(principal: Principal, filter: PendingFilter, limit = PENDING_PAGE): Promise<PendingQueue> {
    const identity = this.identities.of(principal);
    if (!identity.admin && identity.groups.length === 0) {
      throw forbidden('only members of an approver group and admins see the pending queue');
    }
    this.assertKnownFilter(filter);
    await this.migrateLegacyIndex();
    const audience: PendingAudience = identity.admin ? { kind: 'all' } : { kind: 'groups', groups: identity.groups };
    let items: RequestView[] = [];
    let total = 0;
    // Entries whose update was missed (expired while nobody listed them) are pruned and the page read again.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const slice = await this.pendingIndex.list({ audience, ...filter, limit });
      const { views, stale } = await this.livePending(slice.ids);
      items = views;
      total = Math.max(slice.total - stale, views.length);
      if (stale === 0) {
        break;
      }
    }
    return { items, total, notShown: Math.max(0, total - items.length) };
  }

  private assertKnownFilter(filter: PendingFilter): void {
    const doc = this.policy.current.document;
    if (filter.environment !== undefined && !(filter.environment in doc.environments)) {
      throw new CoreError(
        CoreErrorCode.Invalid,
        `unknown environment "${filter.environment}"; the policy has ${Object.keys(doc.environments).join(', ')}`,
      );
    }
    if (filter.role !== undefined && !doc.roles.some((r) => r.id === filter.role)) {
      throw new CoreError(CoreErrorCode.Invalid, `unknown role "${filter.role}"`);
    }
  }

  private async livePending(ids: string[]): Promise<{ views: RequestView[]; stale: number }> {
    const now = this.clock.now();
    const found = await Promise.all(ids.map(async (id) => ({ id, entry: await this.store.getRequest(id) })));
    const views: RequestView[] = [];
    let stale = 0;
    for (const { id, entry } of found) {
      if (!entry || entry.request.state !== 'pending' || entry.request.expiresAt <= now) {
        await this.pendingIndex.remove(id);
        stale += 1;
        continue;
      }
      views.push(toRequestView(entry.request, entry.approvals, this.publicUrl));
    }
    return { views, stale };
  }

  /** Moves entries of the index written before the queue was ordered by risk, a bounded batch per read. */
  private async migrateLegacyIndex(): Promise<void> {
    const ids = await this.pendingIndex.takeLegacy(LEGACY_BATCH);
    const now = this.clock.now();
    for (const id of ids) {
      const found = await this.store.getRequest(id);
      if (found && found.request.state === 'pending' && found.request.expiresAt > now) {
        await this.pendingIndex.add(found.request);
      }
    }
  }

  async detail(
    principal: Principal,
    id: string,
    login: LoginEvidence,
    mfaMaxAgeSeconds: number,
  ): Promise<RequestDetail> {
    const found = await this.store.getRequest(id);
    if (!found) {
      throw notFound(`request ${id}`);
    }
    const { request, approvals } = found;
    const doc = this.policy.current.document;
    const identity = this.identities.of(principal);
    const capacities = capacitiesFor(request, principal, identity);
    if (capacities.length === 0) {
      throw forbidden('only the requester, its owner, approvers of its role and admins may read this request');
    }
    const viewerGroups = identity.groups;
    const requirement = mfaRequirementOf(request.approval, mfaMaxAgeSeconds);
    const mfaCheck = checkMfa(requirement, login, this.clock.now());
    const sessionId = request.session?.id;
    const role = doc.roles.find((r) => r.id === request.role);
    const [lease, sessionRequests, sessionLeases, audit] = await Promise.all([
      request.leaseId ? this.store.getLease(request.leaseId) : Promise.resolve(undefined),
      sessionId ? this.sessionRequests(sessionId, request.id, principal, identity) : Promise.resolve([]),
      sessionId ? this.sessionLeases(sessionId, principal, identity) : Promise.resolve([]),
      this.auditOf(request),
    ]);
    return {
      view: toRequestView(request, approvals, this.publicUrl),
      provider: request.provider,
      scope: role ? (role.settings.scope ?? role.settings) : undefined,
      ...(lease ? { lease: toLeaseView(lease) } : {}),
      capacities,
      viewerGroups,
      mfa: { ...requirement, check: mfaCheck },
      decision: this.availability(request, approvals, identity, mfaCheck),
      sessionRequests,
      sessionLeases: sessionLeases.map(toLeaseView),
      audit,
    };
  }

  /** Whether the viewer is an admin (break-glass and session-wide revocation on the leases page). */
  isAdmin(principal: Principal): boolean {
    return this.identities.isAdmin(principal);
  }

  private availability(
    request: AccessRequest,
    approvals: Approval[],
    identity: ResolvedIdentity,
    mfa: MfaCheck,
  ): DecisionAvailability {
    const approvedByViewer = approvals.some((a) => a.approver === identity.key && a.digest === request.digest);
    const no = (reason: string, needsMfaLogin = false): DecisionAvailability => ({
      allowed: false,
      reason,
      needsMfaLogin,
      approvedByViewer,
    });
    try {
      assertEligibleApprover(request, request.approval, identity);
    } catch (err) {
      if (err instanceof ApprovalError) {
        return no(err.message);
      }
      throw err;
    }
    if (request.state !== 'pending') {
      return no(`this request is ${request.state}; decisions are closed`);
    }
    if (request.expiresAt <= this.clock.now()) {
      return no('the approval window of this request has closed');
    }
    if (approvedByViewer) {
      return no('you have already approved this request; it waits for the other approvers');
    }
    if (!mfa.ok) {
      return no(mfa.reason, true);
    }
    return { allowed: true, needsMfaLogin: false, approvedByViewer };
  }

  /** The session's other requests this viewer may read. */
  private async sessionRequests(
    sessionId: string,
    exclude: string,
    principal: Principal,
    identity: ResolvedIdentity,
  ): Promise<RequestView[]> {
    const ids = (await this.store.listSessionRequests(sessionId)).filter((i) => i !== exclude).slice(0, 50);
    const found = await Promise.all(ids.map((i) => this.store.getRequest(i)));
    return found
      .flatMap((f) =>
        f && capacitiesFor(f.request, principal, identity).length > 0
          ? [toRequestView(f.request, f.approvals, this.publicUrl)]
          : [],
      )
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** The session's leases this viewer may read. */
  private async sessionLeases(sessionId: string, principal: Principal, identity: ResolvedIdentity) {
    const leases = await this.store.listLeases({ session: sessionId, limit: 100 });
    const requests = await Promise.all(leases.map((l) => this.store.getRequest(l.requestId)));
    return leases.filter((l, i) => mayManageLease(l, requests[i]?.request, principal, identity));
  }

  private async auditOf(request: AccessRequest): Promise<AuditEvent[]> {
    const [byRequest, byLease] = await Promise.all([
      this.audit.list({ limit: 100, request: request.id }),
      request.leaseId ? this.audit.list({ limit: 100, lease: request.leaseId }) : Promise.resolve({ events: [] }),
    ]);
    const seen = new Map<number, AuditEvent>();
    for (const e of [...byRequest.events, ...byLease.events]) {
      seen.set(e.seq, e);
    }
    return [...seen.values()].sort((a, b) => a.seq - b.seq);
  }
}
