import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export const TEST_IDP_ISSUER = 'https://idp.leash.test';
export const TEST_IDP_AUDIENCE = 'leash';

/** A stand-in identity provider: its public JWKS goes inline into the test policy. */
export class TestIdp {
  private constructor(
    private readonly key: CryptoKey,
    readonly kid: string,
    readonly publicJwk: JWK,
  ) {}

  static async create(): Promise<TestIdp> {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', {
      crv: 'Ed25519',
      extractable: true,
    });
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    return new TestIdp(privateKey, kid, {
      ...jwk,
      kid,
      alg: 'EdDSA',
      use: 'sig',
    });
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  token(
    claims: { sub: string; owner?: string; groups?: string[]; email?: string },
    options: {
      audience?: string;
      issuer?: string;
      expiresIn?: string | number;
      notBefore?: number;
    } = {},
  ): Promise<string> {
    const jwt = new SignJWT({
      ...(claims.groups ? { groups: claims.groups } : {}),
      ...(claims.owner ? { owner: claims.owner } : {}),
      ...(claims.email ? { email: claims.email } : {}),
    })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.kid })
      .setIssuer(options.issuer ?? TEST_IDP_ISSUER)
      .setSubject(claims.sub)
      .setAudience(options.audience ?? TEST_IDP_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '1h');
    if (options.notBefore !== undefined) {
      jwt.setNotBefore(options.notBefore);
    }
    return jwt.sign(this.key);
  }
}

/** An unsigned token (`alg: none`) with otherwise valid claims. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}
