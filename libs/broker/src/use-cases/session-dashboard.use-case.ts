import { Inject, Injectable } from '@nestjs/common';
import type { AccessRequest, Approval, Principal } from '@leash/core';
import type { LeaseView, RequestView, SessionEventsQuery, SessionEventView, SessionStep } from '@leash/contracts';
import type { LoginEvidence } from '@leash/approvals';
import type { ResolvedIdentity } from '@leash/policy';
import { LEASE_STORE, SessionEventStore, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditEvent, type AuditLog } from '@leash/audit';
import { capacitiesFor, forbidden, isRequester, mayManageLease, notFound, type Capacity } from '../access-control';
import { Identities } from '../auth/identities';
import { POLICY_HOLDER, PUBLIC_URL } from '../broker.tokens';
import type { PolicyHolder } from '../policy/policy.holder';
import { toLeaseView, toRequestView, toSessionView } from '../views';
import { ConsoleQueries, type RequestDetail } from './console-queries.use-case';
import { toSessionEventView } from './report-session-event.use-case';

/** How far back (audit events) the dashboard looks for the session's audit trail. */
const AUDIT_WINDOW = 20_000;
const LIVE_AUDIT_WINDOW = 2_000;
const MAX_REQUESTS = 50;

export interface SessionAccess {
  sessionId: string;
  owner: { principal: string; issuer: string };
  capacities: Capacity[];
  requests: { request: AccessRequest; approvals: Approval[] }[];
  identity: ResolvedIdentity;
}

export interface SessionDashboard {
  session: {
    id: string;
    principal: string;
    owner?: string;
    agent?: string;
    host?: string;
    /** active / ended for a session registered by `leash run`; `unregistered` when only named by requests. */
    state: 'active' | 'ended' | 'unregistered';
    createdAt?: string;
    lastSeenAt?: string;
    idleDeadline?: string;
    endedAt?: string;
    endReason?: string;
  };
  capacities: Capacity[];
  viewerGroups: string[];
  /** The session holds an active lease in an environment of tier production right now. */
  productionAccess: boolean;
  leases: LeaseView[];
  requests: RequestView[];
  audit: AuditEvent[];
  events: SessionEventView[];
  /** The last workflow step the agent reported. */
  currentStep?: SessionStep;
  /** The newest pending request of the session the viewer may read, laid out for a decision. */
  pending?: RequestDetail;
}

/**
 * The agent session dashboard and its event feed: readable by the session's requester, its owner,
 * approvers of its requests' roles and admins.
 */
@Injectable()
export class SessionDashboardQueries {
  constructor(
    @Inject(POLICY_HOLDER) private readonly policy: PolicyHolder,
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(PUBLIC_URL) private readonly publicUrl: string,
    private readonly events: SessionEventStore,
    private readonly identities: Identities,
    private readonly console: ConsoleQueries,
  ) {}

  /** Who the viewer is to this session; 404 for an unknown session, 403 for anyone without a capacity. */
  async access(principal: Principal, sessionId: string): Promise<SessionAccess> {
    const owner = await this.store.sessionOwner(sessionId);
    if (!owner) {
      throw notFound(`session ${sessionId}`);
    }
    const identity = this.identities.of(principal);
    const ids = (await this.store.listSessionRequests(sessionId)).slice(0, MAX_REQUESTS);
    const found = await Promise.all(ids.map((id) => this.store.getRequest(id)));
    const requests = found.flatMap((f) => (f ? [f] : []));
    const caps = new Set<Capacity>();
    if (isRequester(owner, principal)) {
      caps.add('requester');
    }
    if (identity.admin) {
      caps.add('admin');
    }
    for (const { request } of requests) {
      for (const c of capacitiesFor(request, principal, identity)) {
        caps.add(c);
      }
    }
    if (caps.size === 0) {
      throw forbidden(
        "only the session's requester, its owner, approvers of its requests' roles and admins may see an agent session",
      );
    }
    return { sessionId, owner, capacities: [...caps], requests, identity };
  }

  async eventFeed(principal: Principal, sessionId: string, query: SessionEventsQuery): Promise<SessionEventView[]> {
    await this.access(principal, sessionId);
    const stored = await this.events.list(sessionId, query.limit, query.after);
    return stored.map((e) => toSessionEventView(sessionId, e));
  }

  async dashboard(
    principal: Principal,
    sessionId: string,
    login: LoginEvidence,
    mfaMaxAgeSeconds: number,
    live = false,
  ): Promise<SessionDashboard> {
    const access = await this.access(principal, sessionId);
    const { identity, requests } = access;
    const doc = this.policy.current.document;
    const [registered, leases, events] = await Promise.all([
      this.store.getSession(sessionId),
      this.store.listLeases({ session: sessionId, limit: 100 }),
      this.events.list(sessionId, 200),
    ]);
    const audit = await this.auditOf(
      sessionId,
      live ? LIVE_AUDIT_WINDOW : AUDIT_WINDOW,
      new Set(requests.map((r) => r.request.id)),
      new Set(leases.map((l) => l.id)),
    );
    const byId = new Map(requests.map((r) => [r.request.id, r.request]));
    const production = (env: string): boolean => doc.environments[env]?.tier === 'production';
    const readable = requests
      .filter((r) => capacitiesFor(r.request, principal, identity).length > 0)
      .sort((a, b) => b.request.createdAt - a.request.createdAt);
    const newestPending = readable.find((r) => r.request.state === 'pending');
    const pending =
      newestPending && !live
        ? await this.console.detail(principal, newestPending.request.id, login, mfaMaxAgeSeconds)
        : undefined;
    const eventViews = events.map((e) => toSessionEventView(sessionId, e));
    const currentStep = [...eventViews].reverse().find((e) => e.step)?.step;
    const owner = registered?.owner ?? requests.find((r) => r.request.owner)?.request.owner;
    const view = registered ? toSessionView(registered) : undefined;
    return {
      session: {
        id: sessionId,
        principal: access.owner.principal,
        ...(owner ? { owner } : {}),
        ...(view?.agent ? { agent: view.agent } : {}),
        ...(view?.host ? { host: view.host } : {}),
        state: view ? view.state : 'unregistered',
        ...(view
          ? {
              createdAt: view.createdAt,
              lastSeenAt: view.lastSeenAt,
              idleDeadline: view.idleDeadline,
              ...(view.endedAt ? { endedAt: view.endedAt } : {}),
              ...(view.endReason ? { endReason: view.endReason } : {}),
            }
          : {}),
      },
      capacities: access.capacities,
      viewerGroups: identity.groups,
      productionAccess: leases.some((l) => l.state === 'active' && production(l.environment)),
      leases: leases
        .filter((l) => mayManageLease(l, byId.get(l.requestId), principal, identity))
        .map(toLeaseView)
        .sort((a, b) => b.issuedAt.localeCompare(a.issuedAt)),
      requests: readable.map((r) => toRequestView(r.request, r.approvals, this.publicUrl)),
      audit,
      events: eventViews,
      ...(currentStep ? { currentStep } : {}),
      ...(pending ? { pending } : {}),
    };
  }

  /**
   * The session's audit trail among the last `window` events of the log: events of the session, its
   * requests and its leases (the session events themselves are the live logs).
   */
  private async auditOf(sessionId: string, window: number, requestIds: Set<string>, leaseIds: Set<string>) {
    const head = await this.audit.head();
    let cursor = Math.max(0, (head?.seq ?? 0) - window);
    const found: AuditEvent[] = [];
    for (;;) {
      const chunk = await this.audit.range(cursor, 2000);
      for (const e of chunk) {
        cursor = e.seq;
        if (
          e.action !== 'session.event' &&
          (e.sessionId === sessionId ||
            (e.requestId !== undefined && requestIds.has(e.requestId)) ||
            (e.leaseId !== undefined && leaseIds.has(e.leaseId)))
        ) {
          found.push(e);
        }
      }
      if (chunk.length < 2000) {
        return found.slice(-200);
      }
    }
  }
}
