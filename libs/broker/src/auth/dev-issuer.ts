import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface DevTokenInput {
  subject: string;
  owner?: string;
  email?: string;
  groups: string[];
  ttlSeconds: number;
  /** Authentication methods (RFC 8176) and time, to exercise requireMfa. */
  amr?: string[];
  authTime?: number;
}

/**
 * Development identity issuer for the demo and tests: signs identity tokens with a local Ed25519
 * key kept in the data directory (mode 0600). Never enabled unless LEASH_DEV_ISSUER=true.
 */
export class DevIssuer {
  private constructor(
    readonly issuer: string,
    private readonly privateKey: CryptoKey,
    readonly publicJwk: JWK,
  ) {}

  static async open(dataDir: string, issuer: string): Promise<DevIssuer> {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = join(dataDir, 'dev-issuer.jwk.json');
    let jwk: JWK;
    if (existsSync(file)) {
      jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
    } else {
      const { privateKey } = await generateKeyPair('Ed25519', {
        extractable: true,
      });
      jwk = await exportJWK(privateKey);
      jwk.kid = await calculateJwkThumbprint(jwk);
      writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
    }
    chmodSync(file, 0o600);
    const privateKey = (await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA')) as CryptoKey;
    const { d: _d, ...publicJwk } = jwk;
    return new DevIssuer(issuer, privateKey, {
      ...publicJwk,
      alg: 'EdDSA',
      use: 'sig',
    });
  }

  async mint(input: DevTokenInput, audience: string | string[]): Promise<string> {
    const claims: Record<string, unknown> = { groups: input.groups };
    if (input.owner) {
      claims.owner = input.owner;
    }
    if (input.email) {
      claims.email = input.email;
    }
    if (input.amr) {
      claims.amr = input.amr;
    }
    if (input.authTime !== undefined) {
      claims.auth_time = input.authTime;
    }
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: this.publicJwk.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(input.subject)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${input.ttlSeconds}s`)
      .sign(this.privateKey);
  }
}
