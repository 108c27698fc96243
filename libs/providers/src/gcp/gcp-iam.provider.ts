import type { Clock } from '@leash/core';
import type {
  ClaimPlan,
  CredentialProvider,
  IssueCommand,
  IssuedCredential,
  RevocationReport,
  RevokeCommand,
} from '../credential-provider.port';
import { ProviderError, ProviderErrorCode } from '../provider.errors';
import type { GcpApi } from './gcp-api.port';

export interface GcpSettings {
  serviceAccount: string;
  scopes: string[];
  delegates: string[];
  allowExtendedLifetime: boolean;
}

export const GCP_DEFAULT_MAX_SECONDS = 3600;
/** With constraints/iam.allowServiceAccountCredentialLifetimeExtension. */
export const GCP_EXTENDED_MAX_SECONDS = 43_200;

const SA_EMAIL =
  /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+\.iam\.gserviceaccount\.com$|^[\w.+-]+@[\w-]+\.iam\.gserviceaccount\.com$/;
const SCOPE = /^https:\/\/www\.googleapis\.com\/auth\/[\w./-]+$|^openid$|^email$|^profile$/;
const KNOWN = new Set(['serviceAccount', 'scopes', 'delegates', 'allowExtendedLifetime']);

export function parseGcpSettings(
  settings: Record<string, unknown>,
  ttl?: { minTtl?: number; maxTtl: number },
): { value?: GcpSettings; problems: string[] } {
  const problems: string[] = [];
  const sa = settings.serviceAccount;
  if (typeof sa !== 'string' || !SA_EMAIL.test(sa)) {
    problems.push('settings.serviceAccount must be a service account email (name@project.iam.gserviceaccount.com)');
  }
  const scopes = typeof settings.scopes === 'string' ? [settings.scopes] : settings.scopes;
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => typeof s === 'string' && SCOPE.test(s))) {
    problems.push('settings.scopes must be a non-empty list of OAuth scopes (https://www.googleapis.com/auth/...)');
  }
  const delegates = settings.delegates ?? [];
  if (!Array.isArray(delegates) || !delegates.every((d) => typeof d === 'string' && SA_EMAIL.test(d))) {
    problems.push('settings.delegates must be a list of service account emails');
  }
  const extended = settings.allowExtendedLifetime ?? false;
  if (typeof extended !== 'boolean') {
    problems.push('settings.allowExtendedLifetime must be true or false');
  }
  if (ttl) {
    const limit = extended === true ? GCP_EXTENDED_MAX_SECONDS : GCP_DEFAULT_MAX_SECONDS;
    if (ttl.maxTtl > limit) {
      problems.push(
        extended === true
          ? `maxTtl must be at most ${limit} s (12 h)`
          : `maxTtl must be at most ${limit} s; longer lifetimes need the org policy ` +
              'constraints/iam.allowServiceAccountCredentialLifetimeExtension and settings.allowExtendedLifetime: true',
      );
    }
  }
  const unknown = Object.keys(settings).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) {
    problems.push(`unknown gcp settings: ${unknown.join(', ')}`);
  }
  if (problems.length > 0) {
    return { problems };
  }
  return {
    problems,
    value: {
      serviceAccount: sa as string,
      scopes: scopes as string[],
      delegates: delegates as string[],
      allowExtendedLifetime: extended as boolean,
    },
  };
}

/**
 * GCP IAM Credentials generateAccessToken per lease. Access tokens cannot be recalled: an early
 * revocation ends the lease and says plainly that the token expires by itself.
 */
export class GcpIamProvider implements CredentialProvider {
  readonly kind = 'gcp' as const;

  constructor(
    private readonly api: GcpApi,
    private readonly clock: Clock,
  ) {}

  validateSettings(settings: Record<string, unknown>, ttl: { minTtl?: number; maxTtl: number }): string[] {
    return parseGcpSettings(settings, ttl).problems;
  }

  /** The service account whose access token the claim will mint; it cannot be recalled, only outlived. */
  plan(cmd: IssueCommand): ClaimPlan {
    const { value: s } = parseGcpSettings(cmd.role.settings);
    if (!s) {
      throw new ProviderError(ProviderErrorCode.Permanent, 'gcp', 'InvalidSettings', 'invalid gcp role settings');
    }
    return { identity: { serviceAccount: s.serviceAccount }, handle: { serviceAccount: s.serviceAccount } };
  }

  async issue(cmd: IssueCommand): Promise<IssuedCredential> {
    const { value: s } = parseGcpSettings(cmd.role.settings);
    if (!s) {
      throw new ProviderError(ProviderErrorCode.Permanent, 'gcp', 'InvalidSettings', 'invalid gcp role settings');
    }
    const token = await this.api.generateAccessToken({
      serviceAccount: s.serviceAccount,
      scopes: s.scopes,
      delegates: s.delegates,
      lifetimeSeconds: cmd.ttlSeconds,
    });
    return {
      credential: { accessToken: token.accessToken, expireTime: new Date(token.expireTime).toISOString() },
      secret: token.accessToken,
      revocationHandle: { serviceAccount: s.serviceAccount, expireTime: token.expireTime },
      expiresAt: Math.min(token.expireTime, cmd.expiresAt),
      providerRef: { serviceAccount: s.serviceAccount, expireTime: new Date(token.expireTime).toISOString() },
    };
  }

  revoke(cmd: RevokeCommand): Promise<RevocationReport> {
    const expire = typeof cmd.handle.expireTime === 'number' ? cmd.handle.expireTime : cmd.expiresAt;
    const at = new Date(expire).toISOString();
    if (this.clock.now() >= expire) {
      return Promise.resolve({ effect: 'expired', note: `the access token expired at ${at}` });
    }
    return Promise.resolve({
      effect: 'expires_by_itself',
      note: `GCP access tokens cannot be recalled; the lease has ended and the token expires by itself at ${at}`,
    });
  }

  async checkHealth(): Promise<void> {
    // Minting would be the only full probe; whether the broker has a Google identity at all is checked.
    await this.api.checkIdentity?.();
  }
}
