import type { SecretFingerprint } from './fingerprint';

export type RequestState = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'issuing' | 'issued';
export type LeaseState = 'active' | 'revoking' | 'revoked' | 'revocation_failed';
export type Decision = 'auto_approved' | 'needs_approval' | 'denied';
export type RiskLevel = 'low' | 'medium' | 'high' | 'critical';
export type Channel = 'web' | 'slack' | 'api' | 'system';
export type ProviderKind = 'jwt' | 'aws' | 'gcp' | 'kubernetes';

/** An authenticated caller: an agent session's identity or an approver. */
export interface Principal {
  /** Stable subject (`sub` of the identity token). */
  id: string;
  issuer: string;
  /** The human who launched the agent, when the token says so. */
  owner?: string;
  email?: string;
  groups: string[];
  /** Authentication methods of the identity token (RFC 8176 `amr`), e.g. ["pwd", "mfa"]. */
  amr?: string[];
  /** When the human authenticated (token `auth_time`), epoch seconds. */
  authTime?: number;
}

/** One thing the risk assessment found in a request's plan or command, pointing at where it is. */
export interface RiskFinding {
  kind: 'impact' | 'security' | 'unknown';
  /** How much it adds to the level. */
  weight: number;
  detail: string;
  /** Which parser read it: terraform-hcl, terraform-plan, terraform-json, kubernetes, kubectl, sql, shell. */
  source: string;
  /** The resource, object or statement it concerns, e.g. `google_project_iam_member.deployer`. */
  resource?: string;
  /** 1-based line in the plan (or command) text. */
  line?: number;
  /** The finding is only that the change targets production: counted once per request. */
  production?: boolean;
  /** Which field of the request context the line is in. */
  field?: 'plan' | 'command';
}

export interface Risk {
  level: RiskLevel;
  reasons: string[];
  /** Where in the context each specific reason comes from (absent on requests made before findings existed). */
  findings?: RiskFinding[];
}

export interface SessionRef {
  id: string;
  agent?: string;
  host?: string;
}

export interface RequestContext {
  plan?: string;
  ticket?: string;
  command?: string;
}

/** The part of a request an approval is bound to; its canonical digest is the request digest. */
export interface RequestDigestInput {
  role: string;
  environment: string;
  ttlSeconds: number;
  scope: unknown;
  context: RequestContext;
}

export interface AccessRequest {
  id: string;
  state: RequestState;
  role: string;
  environment: string;
  ttlSeconds: number;
  reason: string;
  principal: string;
  issuer: string;
  owner?: string;
  session?: SessionRef;
  context: RequestContext;
  decision: Exclude<Decision, 'denied'>;
  /** Snapshot of the role's approval rule when the request was made. */
  approval: ApprovalRule;
  provider: ProviderKind;
  risk: Risk;
  digest: string;
  policyVersion: string;
  createdAt: number;
  /** Deadline of the current state: approval timeout while pending, claim window once approved. */
  expiresAt: number;
  decidedAt?: number;
  leaseId?: string;
  denial?: { by: string; comment?: string };
  /** Groups of the requester's token at creation, to re-check group matchers on policy reload. */
  principalGroups?: string[];
  principalEmail?: string;
  /** Why the policy decided as it did (e.g. "auto-approval budget exhausted"); shown to approvers. */
  decisionReasons?: string[];
  /** Provider scope (the role's settings) the digest was computed over; the claim mints from it. */
  scope?: unknown;
  /** Digest of the role and environment definitions the request was decided under (covered by `digest`). */
  roleFingerprint?: string;
  /** Set when an approver narrowed the TTL before approving. */
  narrowed?: { fromTtlSeconds: number; by: string };
  /** Why the request was closed by the system (e.g. the reloaded policy no longer allows the role). */
  closedReason?: string;
}

export interface Approval {
  approver: string;
  /** Approver groups the approver belonged to when approving. */
  groups: string[];
  digest: string;
  channel: Channel;
  at: number;
  comment?: string;
}

export interface Lease {
  id: string;
  requestId: string;
  state: LeaseState;
  role: string;
  environment: string;
  provider: ProviderKind;
  principal: string;
  /** Issuer of the principal (principals are issuer and subject); absent on leases recorded before it was kept. */
  issuer?: string;
  owner?: string;
  sessionId?: string;
  issuedAt: number;
  expiresAt: number;
  fingerprint: SecretFingerprint;
  /** Provider-side identifiers for joining audit logs (e.g. JWT jti). Never secret. */
  providerRef: Record<string, string>;
  revokedAt?: number;
  revokeReason?: string;
  attempts: number;
  lastError?: string;
}

const REQUEST_TRANSITIONS: Record<RequestState, readonly RequestState[]> = {
  pending: ['approved', 'denied', 'expired', 'cancelled'],
  approved: ['issuing', 'expired', 'cancelled'],
  // expired: the claim was interrupted (the broker stopped mid-claim) and its window has long closed.
  issuing: ['issued', 'approved', 'expired'],
  issued: [],
  denied: [],
  expired: [],
  cancelled: [],
};

const LEASE_TRANSITIONS: Record<LeaseState, readonly LeaseState[]> = {
  active: ['revoking'],
  revoking: ['revoked', 'revocation_failed', 'revoking'],
  revocation_failed: ['revoking'],
  revoked: [],
};

export function canTransitionRequest(from: RequestState, to: RequestState): boolean {
  return REQUEST_TRANSITIONS[from].includes(to);
}

export function canTransitionLease(from: LeaseState, to: LeaseState): boolean {
  return LEASE_TRANSITIONS[from].includes(to);
}

export function isTerminalRequestState(state: RequestState): boolean {
  return REQUEST_TRANSITIONS[state].length === 0;
}

/** One AND-ed clause of an approval rule: `quorum` distinct approvers from any of `groups`. */
export interface QuorumRequirement {
  groups: string[];
  quorum: number;
}

export type ApprovalRule =
  | { kind: 'auto'; claimWindowSeconds: number; budgetPerHour?: number }
  | {
      kind: 'quorum';
      requirements: QuorumRequirement[];
      timeoutSeconds: number;
      claimWindowSeconds: number;
      /** Only approvers whose token shows MFA, authenticated within mfaMaxAgeSeconds, count. */
      requireMfa?: boolean;
      mfaMaxAgeSeconds?: number;
      /** Where approvals are accepted; absent means every channel. */
      channels?: Channel[];
    };

/** A registered agent session (SPEC §2): it heartbeats, and its leases are revoked once it is idle too long. */
export interface AgentSession {
  id: string;
  state: 'active' | 'ended';
  principal: string;
  issuer: string;
  owner?: string;
  agent?: string;
  host?: string;
  idleSeconds: number;
  createdAt: number;
  lastSeenAt: number;
  endedAt?: number;
  endReason?: string;
}
