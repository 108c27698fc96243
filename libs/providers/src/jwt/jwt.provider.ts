import { sign as cryptoSign } from 'node:crypto';
import { errors as joseErrors, jwtVerify, decodeProtectedHeader } from 'jose';
import type { CredentialProvider, IssueCommand, IssuedCredential, RevokeCommand } from '../credential-provider.port';
import { ProviderError, ProviderErrorCode } from '../provider.errors';
import type { JwtDenylist } from './jwt-denylist.port';
import type { JwtKeySet, SigningKey } from './jwt-key-set';

export interface JwtSettings {
  audience: string[];
  scope: string;
}

export type IntrospectionResult = { active: false } | ({ active: true } & Record<string, unknown>);

function parseSettings(settings: Record<string, unknown>): {
  value?: JwtSettings;
  problems: string[];
} {
  const problems: string[] = [];
  const aud = settings.audience;
  const audience = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : undefined;
  if (!audience || audience.length === 0 || !audience.every((a) => typeof a === 'string' && a.length > 0)) {
    problems.push('settings.audience must be a non-empty string or list of strings');
  }
  const sc = settings.scope ?? [];
  const scopes = typeof sc === 'string' ? sc.split(/\s+/).filter(Boolean) : Array.isArray(sc) ? sc : undefined;
  if (!scopes || !scopes.every((s) => typeof s === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))) {
    problems.push('settings.scope must be a string or list of scope tokens');
  }
  const unknown = Object.keys(settings).filter((k) => k !== 'audience' && k !== 'scope');
  if (unknown.length > 0) {
    problems.push(`unknown jwt settings: ${unknown.join(', ')}`);
  }
  return problems.length > 0
    ? { problems }
    : {
        value: {
          audience: audience as string[],
          scope: (scopes as string[]).join(' '),
        },
        problems,
      };
}

const b64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * JWS compact serialization (RFC 7515 §7.1) signed with node:crypto's synchronous sign and a KeyObject imported
 * once: jose's SignJWT goes through WebCrypto (a promise and a thread-pool job per signature) and signed at half
 * the rate (bench/RESULTS.md). ES256 signatures are R‖S (IEEE P1363, RFC 7518 §3.4), EdDSA per RFC 8037, RS256
 * PKCS#1 v1.5 with SHA-256. Tokens are verified with jose (introspection) and other stacks' verifiers (e2e).
 */
export function signJwt(key: SigningKey, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${b64url({ alg: key.alg, kid: key.kid, ...header })}.${b64url(claims)}`;
  const data = Buffer.from(input);
  const signature =
    key.alg === 'ES256'
      ? cryptoSign('sha256', data, { key: key.keyObject, dsaEncoding: 'ieee-p1363' })
      : cryptoSign(key.alg === 'EdDSA' ? null : 'sha256', data, key.keyObject);
  return `${input}.${signature.toString('base64url')}`;
}

/** Broker-signed JWTs (EdDSA/ES256); revocation denylists the jti until expiry. */
export class JwtProvider implements CredentialProvider {
  readonly kind = 'jwt' as const;
  // Introspection answers active only while the lease record is active; the denylist adds to it.
  readonly recordOnly = true;

  constructor(
    private readonly keys: JwtKeySet,
    private readonly denylist: JwtDenylist,
    private readonly issuer: string,
  ) {}

  validateSettings(settings: Record<string, unknown>): string[] {
    return parseSettings(settings).problems;
  }

  issue(cmd: IssueCommand): Promise<IssuedCredential> {
    // Signing is synchronous; the executor turns a throw into a rejection, as for every other provider.
    return new Promise((resolve) => resolve(this.sign(cmd)));
  }

  private sign(cmd: IssueCommand): IssuedCredential {
    const { value: settings } = parseSettings(cmd.role.settings);
    if (!settings) {
      throw new ProviderError(ProviderErrorCode.Permanent, 'jwt', 'InvalidSettings', 'invalid jwt role settings');
    }
    const claims: Record<string, unknown> = {
      env: cmd.environment,
      scope: settings.scope,
      role: cmd.role.id,
      leash_request: cmd.requestId,
      // The approval receipt: which approval (request digest, approvers as policy member ids) authorised this token.
      leash_approval: {
        digest: cmd.approval.digest,
        approvers: cmd.approval.approvers,
        auto: cmd.approval.auto,
        policyVersion: cmd.approval.policyVersion,
      },
    };
    if (cmd.sessionId) {
      claims.leash_session = cmd.sessionId;
    }
    if (cmd.owner) {
      claims.act = { sub: cmd.owner };
    }
    const exp = Math.floor(cmd.expiresAt / 1000);
    const token = signJwt(
      this.keys.signing,
      { typ: 'JWT' },
      {
        ...claims,
        iss: this.issuer,
        sub: cmd.principal,
        aud: settings.audience.length === 1 ? settings.audience[0] : settings.audience,
        jti: cmd.leaseId,
        iat: Math.floor(cmd.issuedAt / 1000),
        exp,
      },
    );
    return {
      credential: {
        token,
        tokenType: 'Bearer',
        expiresAt: new Date(exp * 1000).toISOString(),
      },
      secret: token,
      revocationHandle: { jti: cmd.leaseId },
      expiresAt: exp * 1000,
      providerRef: { jti: cmd.leaseId, kid: this.keys.signing.kid },
    };
  }

  async revoke(cmd: RevokeCommand): Promise<void> {
    await denylistWrite(() => this.denylist.add(jtiOf(cmd), cmd.expiresAt));
  }

  async revokeMany(cmds: RevokeCommand[]): Promise<void> {
    await denylistWrite(() =>
      this.denylist.addMany(cmds.map((cmd) => ({ jti: jtiOf(cmd), expiresAtMs: cmd.expiresAt }))),
    );
  }

  private async isDenied(jti: string): Promise<boolean> {
    try {
      return await this.denylist.has(jti);
    } catch (cause) {
      // Without the denylist a revoked token cannot be told apart: fail closed.
      throw new ProviderError(ProviderErrorCode.Retryable, 'jwt', 'DenylistUnavailable', 'denylist read failed', {
        cause,
      });
    }
  }

  async checkHealth(): Promise<void> {
    await this.denylist.has('health-probe');
  }

  jwks(): { keys: object[] } {
    return this.keys.publicJwks;
  }

  /** RFC 7662 introspection of a broker-issued JWT; denylisted or invalid tokens are inactive. */
  async introspect(token: string): Promise<IntrospectionResult> {
    let payload: Record<string, unknown>;
    try {
      const header = decodeProtectedHeader(token);
      const key = this.keys.verifyKey(header.kid);
      if (!key) {
        return { active: false };
      }
      ({ payload } = await jwtVerify(token, key.key, {
        issuer: this.issuer,
        algorithms: [key.alg],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError || err instanceof SyntaxError) {
        return { active: false };
      }
      throw err;
    }
    const jti = typeof payload.jti === 'string' ? payload.jti : undefined;
    if (!jti || (await this.isDenied(jti))) {
      return { active: false };
    }
    return { active: true, token_type: 'Bearer', ...payload };
  }
}

/** The token's jti: the revocation handle's, or the lease id (which is what issue sets it to). */
function jtiOf(cmd: RevokeCommand): string {
  return typeof cmd.handle.jti === 'string' ? cmd.handle.jti : cmd.leaseId;
}

/** A denylist write; its failure is retryable (the revocation is tried again). */
async function denylistWrite(write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (cause) {
    throw new ProviderError(ProviderErrorCode.Retryable, 'jwt', 'DenylistUnavailable', 'denylist write failed', {
      cause,
    });
  }
}
