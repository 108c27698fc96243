import type { AccessRequest, AgentSession, Approval, Lease } from '@leash/core';
import { formatFingerprint } from '@leash/core';
import type { LeaseView, RequestView, SessionView } from '@leash/contracts';
import { evaluateQuorum } from '@leash/approvals';

const iso = (ms: number): string => new Date(ms).toISOString();

export function quorumOf(request: AccessRequest, approvals: Approval[]): RequestView['quorum'] {
  if (request.approval.kind === 'auto') {
    return { satisfied: true, progress: 'auto-approved by policy' };
  }
  const current = approvals.filter((a) => a.digest === request.digest);
  const q = evaluateQuorum(request.approval.requirements, current);
  return { satisfied: q.satisfied, progress: q.progress };
}

export function toRequestView(request: AccessRequest, approvals: Approval[], publicUrl: string): RequestView {
  return {
    id: request.id,
    state: request.state,
    decision: request.decision,
    role: request.role,
    environment: request.environment,
    ttlSeconds: request.ttlSeconds,
    reason: request.reason,
    principal: request.principal,
    ...(request.owner ? { owner: request.owner } : {}),
    ...(request.session ? { session: request.session } : {}),
    context: request.context,
    risk: request.risk,
    digest: request.digest,
    policyVersion: request.policyVersion,
    createdAt: iso(request.createdAt),
    expiresAt: iso(request.expiresAt),
    approvalUrl: approvalUrlOf(publicUrl, request.id),
    approvals: approvals.map((a) => ({
      approver: a.approver,
      channel: a.channel,
      at: iso(a.at),
    })),
    quorum: quorumOf(request, approvals),
    ...(request.leaseId ? { leaseId: request.leaseId } : {}),
    ...(request.denial ? { denial: request.denial } : {}),
    ...(request.narrowed
      ? { narrowed: { fromTtlSeconds: request.narrowed.fromTtlSeconds, by: request.narrowed.by } }
      : {}),
    ...(request.closedReason ? { closedReason: request.closedReason } : {}),
    ...(request.decisionReasons ? { decisionReasons: request.decisionReasons } : {}),
  };
}

export function approvalUrlOf(publicUrl: string, requestId: string): string {
  return `${publicUrl}/console/requests/${requestId}`;
}

export function toLeaseView(lease: Lease): LeaseView {
  return {
    id: lease.id,
    requestId: lease.requestId,
    state: lease.state,
    role: lease.role,
    environment: lease.environment,
    provider: lease.provider,
    principal: lease.principal,
    ...(lease.owner ? { owner: lease.owner } : {}),
    ...(lease.sessionId ? { sessionId: lease.sessionId } : {}),
    issuedAt: iso(lease.issuedAt),
    expiresAt: iso(lease.expiresAt),
    ...(lease.revokedAt ? { revokedAt: iso(lease.revokedAt) } : {}),
    ...(lease.revokeReason ? { revokeReason: lease.revokeReason } : {}),
    fingerprint: formatFingerprint(lease.fingerprint),
    providerRef: lease.providerRef,
    ...(lease.lastError ? { lastError: lease.lastError } : {}),
  };
}

export function toSessionView(session: AgentSession): SessionView {
  return {
    id: session.id,
    state: session.state,
    principal: session.principal,
    ...(session.agent ? { agent: session.agent } : {}),
    ...(session.host ? { host: session.host } : {}),
    idleSeconds: session.idleSeconds,
    createdAt: iso(session.createdAt),
    lastSeenAt: iso(session.lastSeenAt),
    idleDeadline: iso(session.lastSeenAt + session.idleSeconds * 1000),
    ...(session.endedAt ? { endedAt: iso(session.endedAt) } : {}),
    ...(session.endReason ? { endReason: session.endReason } : {}),
  };
}
