import type { ProviderKind } from '@leash/core';

/**
 * Which approval authorised a credential: travels with it (JWT claim, AWS session tags, Kubernetes annotations) so
 * the provider's own audit log shows it. Never secret.
 */
export interface ApprovalReceipt {
  /** Digest of the request as approved (hex SHA-256 of its canonical form: role, scope, TTL, context, principal). */
  digest: string;
  /** Policy member ids (person keys) of the approvers whose approvals formed the quorum; empty when `auto`. */
  approvers: string[];
  /** True when the policy approved the request without a human (then `approvers` is empty). */
  auto: boolean;
  /** Version of the policy the request was decided under. */
  policyVersion: string;
}

/** How many hex characters of the digest go where space is short (AWS session tags, Kubernetes annotations). */
export const RECEIPT_DIGEST_PREFIX_LENGTH = 16;

/** The digest prefix carried by AWS session tags and Kubernetes annotations: `sha256:` and its first 16 hex. */
export function receiptDigestPrefix(receipt: ApprovalReceipt): string {
  return `sha256:${receipt.digest.slice(0, RECEIPT_DIGEST_PREFIX_LENGTH)}`;
}

/** What a provider needs to mint one lease's credential. */
export interface IssueCommand {
  leaseId: string;
  requestId: string;
  role: { id: string; settings: Record<string, unknown> };
  environment: string;
  principal: string;
  owner?: string;
  sessionId?: string;
  ttlSeconds: number;
  issuedAt: number;
  expiresAt: number;
  /** The approval that authorised this credential. */
  approval: ApprovalReceipt;
}

export interface IssuedCredential {
  /** Returned to the requester once; never stored or logged. */
  credential: Record<string, string>;
  /** The value whose fingerprint is recorded (the bearer secret of the credential). */
  secret: string;
  /** JSON-serialisable, non-secret data needed to revoke later. */
  revocationHandle: Record<string, unknown>;
  /** Provider credential expiry; never later than the lease. */
  expiresAt: number;
  /** Provider-side identifiers for joining audit logs (jti, SourceIdentity, SA uid). */
  providerRef: Record<string, string>;
}

export interface RevokeCommand {
  leaseId: string;
  expiresAt: number;
  handle: Record<string, unknown>;
}

/** Work a provider needs done later, e.g. removing a deny entry once the credential has expired. */
export interface ProviderFollowUp {
  /** When to run it (ms since the epoch). */
  at: number;
  /** Stable key of the thing to maintain (e.g. a role); one follow-up per key and time. */
  key: string;
  /** JSON-serialisable, non-secret data handed back to `followUp`. */
  data: Record<string, unknown>;
}

/**
 * What a claim records before it calls the provider, so a credential minted by a claim that then
 * crashed can still be found and revoked: the identity it will carry and the handle that revokes it.
 */
export interface ClaimPlan {
  /** Non-secret names the credential will carry (AWS SourceIdentity, Kubernetes ServiceAccount, ...). */
  identity: Record<string, string>;
  /** Revokes the credential, if one was minted, like a lease's revocation handle (non-secret). */
  handle: Record<string, unknown>;
}

/** What an early revocation actually did at the provider; audited as is. */
export interface RevocationReport {
  /**
   * `recalled`: the credential no longer works (denylist, deleted identity); `denied`: a provider
   * policy now denies it; `expires_by_itself`: the provider cannot recall it, it ends at its expiry;
   * `expired`: it had already expired.
   */
  effect: 'recalled' | 'denied' | 'expires_by_itself' | 'expired';
  /** A plain sentence for the audit log and operators. */
  note?: string;
  followUp?: ProviderFollowUp;
  /** Set when the provider had to take a wider measure than asked (e.g. a role-wide cut-off). */
  escalation?: string;
}

/**
 * A credential provider mints and revokes credentials. Implementations are stateless per request,
 * `revoke` is idempotent, and every error is a ProviderError classified retryable or permanent.
 */
export interface CredentialProvider {
  readonly kind: ProviderKind;
  /**
   * The credential is honoured only while its lease record is active (JWT: introspection is an
   * allow-list on the record), so marking the lease revoked ends it; `revoke` only adds to that.
   * Break glass marks such leases revoked in bulk, then calls `revoke`.
   */
  readonly recordOnly?: boolean;
  /** Problems with a role's provider settings (empty when valid); checked when the policy loads. */
  validateSettings(settings: Record<string, unknown>, ttl: { minTtl?: number; maxTtl: number }): string[];
  issue(command: IssueCommand): Promise<IssuedCredential>;
  /**
   * The identity `issue` will give this command's credential and the handle that revokes it, known
   * before the call. Providers without one mint nothing outside the broker (JWT) until `issue` returns.
   */
  plan?(command: IssueCommand): ClaimPlan;
  revoke(command: RevokeCommand): Promise<RevocationReport | void>;
  /**
   * `revoke` for many leases at once (break glass, a batch of record-only leases): the same effect as
   * calling `revoke` for each, in fewer round trips. Optional; the broker calls `revoke` per lease without it.
   */
  revokeMany?(commands: RevokeCommand[]): Promise<void>;
  /** Runs a follow-up a revocation asked for; may ask for another one. Retried on retryable errors. */
  followUp?(data: Record<string, unknown>): Promise<{ followUp?: ProviderFollowUp } | void>;
  /**
   * Throws when the provider cannot serve at all: ProviderError NotConfigured when it is disabled (the broker
   * has no identity or cluster for it), another code when it is configured but unhealthy.
   */
  checkHealth(): Promise<void>;
  /** Throws (as checkHealth) when this role's settings cannot be served here (e.g. a missing cluster context). */
  checkRole?(settings: Record<string, unknown>): Promise<void>;
  /**
   * Where a role's credential will be used (e.g. a Kubernetes API server and its CA), so clients can
   * configure their tools before any credential exists. Non-secret; undefined when not knowable now.
   */
  describeTarget?(settings: Record<string, unknown>): Record<string, string> | undefined;
  /**
   * Break glass: providers with a measure wider than one lease (AWS: a role-wide aws:TokenIssueTime
   * cut-off) take it where it hits no lease outside the selection (`others` are this provider's
   * unrevoked leases that were not selected). Returns the report for each selected lease the measure
   * covers; the broker revokes the rest one by one.
   */
  breakGlass?(command: { selected: RevokeCommand[]; others: RevokeCommand[] }): Promise<Map<string, RevocationReport>>;
  /**
   * Providers that create identities per lease (Kubernetes ServiceAccounts) list the ones they find
   * where the given role settings point, so the orphan sweep can delete those whose lease is not active.
   * Places that cannot be read are reported in `problems`, never thrown.
   */
  listLeaseIdentities?(
    roleSettings: Record<string, unknown>[],
  ): Promise<{ identities: LeaseIdentity[]; problems: string[] }>;
}

/** An identity a provider created for a lease; `handle` revokes it like a lease's revocation handle. */
export interface LeaseIdentity {
  leaseId: string;
  /** Creation time (epoch ms) as the provider records it. */
  createdAt: number;
  handle: Record<string, unknown>;
  /** Human-readable location for logs and audit (no secret). */
  where: string;
}

export const CREDENTIAL_PROVIDERS = Symbol('CredentialProviders');
