import type { ProviderKind } from '@leash/core';

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

/**
 * A credential provider mints and revokes credentials. Implementations are stateless per request,
 * `revoke` is idempotent, and every error is a ProviderError classified retryable or permanent.
 */
export interface CredentialProvider {
  readonly kind: ProviderKind;
  /** Problems with a role's provider settings (empty when valid); checked when the policy loads. */
  validateSettings(settings: Record<string, unknown>, ttl: { minTtl?: number; maxTtl: number }): string[];
  issue(command: IssueCommand): Promise<IssuedCredential>;
  revoke(command: RevokeCommand): Promise<void>;
  checkHealth(): Promise<void>;
}

export const CREDENTIAL_PROVIDERS = Symbol('CredentialProviders');
