import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { createHash } from 'node:crypto';
import type { Principal } from '@leash/core';
import type { IssuerDefinition } from '@leash/policy';
import type { PolicyHolder } from '../policy/policy.holder';
import type { DevIssuer } from './dev-issuer';
import { AuthError, AuthErrorCode } from './auth.errors';

const ALGORITHMS = ['EdDSA', 'ES256', 'RS256'];
const CLOCK_SKEW_SECONDS = 60;
const CACHE_MAX_ENTRIES = 10_000;
const CACHE_MAX_AGE_MS = 60_000;

/** Verifies identity tokens against the policy's trusted issuers and maps claims to a Principal. */
export class PrincipalAuthenticator {
  private readonly remoteSets = new Map<string, JWTVerifyGetKey>();
  private readonly localSets = new WeakMap<object, JWTVerifyGetKey>();
  /** Verified tokens (by SHA-256) → principal, so an agent's repeated calls skip signature checks. */
  private readonly verified = new Map<string, { principal: Principal; until: number; policy: object }>();

  constructor(
    private readonly policy: PolicyHolder,
    private readonly devIssuer?: DevIssuer,
  ) {}

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const match = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/i.exec(authorization ?? '');
    if (!match) {
      throw new AuthError(
        AuthErrorCode.MissingToken,
        authorization ? 'Authorization must be "Bearer <token>"' : 'missing Authorization: Bearer <token>',
      );
    }
    const token = match[1];
    const cacheKey = createHash('sha256').update(token).digest('base64url');
    const cached = this.verified.get(cacheKey);
    if (cached && cached.until > Date.now() && cached.policy === this.policy.current) {
      return cached.principal;
    }
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw new AuthError(AuthErrorCode.InvalidToken, 'the bearer token is not a JWT');
    }
    const issuer = this.findIssuer(unverified.iss);
    if (!issuer) {
      throw new AuthError(AuthErrorCode.InvalidToken, 'the token issuer is not trusted by the policy');
    }
    const { entry, iss } = issuer;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keysFor(entry), {
        issuer: iss,
        audience: entry.audience,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw this.translate(err);
    }
    const principal = this.toPrincipal(payload, entry, iss);
    this.remember(cacheKey, principal, payload);
    return principal;
  }

  private remember(cacheKey: string, principal: Principal, payload: JWTPayload): void {
    if (this.verified.size >= CACHE_MAX_ENTRIES) {
      this.verified.clear();
    }
    // Never past the token's own expiry (without skew), and re-verified at least every minute.
    const until = Math.min(Date.now() + CACHE_MAX_AGE_MS, (payload.exp ?? 0) * 1000);
    if (until > Date.now()) {
      this.verified.set(cacheKey, { principal, until, policy: this.policy.current });
    }
  }

  private findIssuer(iss: string | undefined): { entry: IssuerDefinition; iss: string } | undefined {
    if (!iss) {
      return undefined;
    }
    for (const entry of this.policy.current.document.issuers) {
      if (entry.devIssuer) {
        if (this.devIssuer && this.devIssuer.issuer === iss) {
          return { entry, iss };
        }
      } else if (entry.issuer === iss) {
        return { entry, iss };
      }
    }
    return undefined;
  }

  private keysFor(entry: IssuerDefinition): JWTVerifyGetKey {
    if (entry.devIssuer || entry.jwks) {
      let set = this.localSets.get(entry);
      if (!set) {
        set = createLocalJWKSet(entry.devIssuer && this.devIssuer ? { keys: [this.devIssuer.publicJwk] } : entry.jwks!);
        this.localSets.set(entry, set);
      }
      return set;
    }
    const url = entry.jwksUrl as string;
    let set = this.remoteSets.get(url);
    if (!set) {
      set = createRemoteJWKSet(new URL(url), { timeoutDuration: 3000 });
      this.remoteSets.set(url, set);
    }
    return set;
  }

  private translate(err: unknown): AuthError {
    if (err instanceof joseErrors.JWTExpired) {
      return new AuthError(AuthErrorCode.InvalidToken, 'the token has expired');
    }
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      return new AuthError(AuthErrorCode.InvalidToken, `token claim "${err.claim}" is invalid: ${err.reason}`);
    }
    if (err instanceof joseErrors.JWKSTimeout || (err instanceof Error && err.name === 'TypeError')) {
      return new AuthError(AuthErrorCode.IssuerUnavailable, 'the issuer JWKS could not be fetched', { cause: err });
    }
    if (err instanceof joseErrors.JOSEAlgNotAllowed) {
      return new AuthError(AuthErrorCode.InvalidToken, 'the token algorithm is not allowed (EdDSA, ES256, RS256)');
    }
    if (err instanceof joseErrors.JOSEError) {
      return new AuthError(AuthErrorCode.InvalidToken, `the token is invalid (${err.code})`);
    }
    return new AuthError(AuthErrorCode.InvalidToken, 'the token is invalid', {
      cause: err,
    });
  }

  private toPrincipal(payload: JWTPayload, entry: IssuerDefinition, iss: string): Principal {
    const claim = (name: string): unknown => payload[name];
    const id = claim(entry.claims.principal);
    if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
      throw new AuthError(AuthErrorCode.InvalidToken, `token claim "${entry.claims.principal}" is missing`);
    }
    const groupsClaim = claim(entry.claims.groups);
    const groups = Array.isArray(groupsClaim) ? groupsClaim.filter((g): g is string => typeof g === 'string') : [];
    const owner = claim(entry.claims.owner);
    const email = claim(entry.claims.email);
    const amrClaim = claim(entry.claims.amr);
    const amr = Array.isArray(amrClaim) ? amrClaim.filter((m): m is string => typeof m === 'string') : undefined;
    const authTime = claim(entry.claims.authTime);
    if (typeof authTime === 'number' && authTime > Date.now() / 1000 + CLOCK_SKEW_SECONDS) {
      // A sign-in "in the future" proves nothing (and would pass every freshness check for a while).
      throw new AuthError(AuthErrorCode.InvalidToken, `token claim "${entry.claims.authTime}" is in the future`);
    }
    return {
      id,
      issuer: iss,
      groups,
      ...(typeof owner === 'string' && owner.length > 0 ? { owner } : {}),
      ...(typeof email === 'string' && email.length > 0 ? { email } : {}),
      ...(amr ? { amr } : {}),
      ...(typeof authTime === 'number' && Number.isFinite(authTime) ? { authTime: Math.floor(authTime) } : {}),
    };
  }
}
