import { readFileSync, statSync } from 'node:fs';
import { exportJWK, importJWK, type CryptoKey, type JWK } from 'jose';
import { ProviderError, ProviderErrorCode } from '../provider.errors';
import { currentIdentity, keyFileExposure } from './key-file-permissions';

export type SigningAlg = 'EdDSA' | 'ES256';

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey;
}

/** Key material of the JWT provider: the first private key signs; every key is published. */
export class JwtKeySet {
  private constructor(
    readonly signing: SigningKey,
    readonly publicJwks: { keys: JWK[] },
    private readonly verifyKeys: Map<string, { alg: SigningAlg; key: CryptoKey }>,
  ) {}

  static async fromFile(path: string): Promise<JwtKeySet> {
    let parsed: { keys?: JWK[] };
    try {
      const exposure = keyFileExposure(statSync(path), currentIdentity());
      if (exposure !== undefined) {
        throw new Error(`${path} ${exposure}`);
      }
      parsed = JSON.parse(readFileSync(path, 'utf8')) as { keys?: JWK[] };
    } catch (cause) {
      throw new ProviderError(
        ProviderErrorCode.NotConfigured,
        'jwt',
        'KeySetUnreadable',
        `cannot load JWT signing keys from ${path}: ${(cause as Error).message}`,
      );
    }
    return JwtKeySet.fromJwks(parsed.keys ?? []);
  }

  static async fromJwks(keys: JWK[]): Promise<JwtKeySet> {
    if (keys.length === 0) {
      throw new ProviderError(ProviderErrorCode.NotConfigured, 'jwt', 'NoKeys', 'the JWT key set has no keys');
    }
    const verifyKeys = new Map<string, { alg: SigningAlg; key: CryptoKey }>();
    const published: JWK[] = [];
    let signing: SigningKey | undefined;
    for (const jwk of keys) {
      const alg = algOf(jwk);
      if (!jwk.kid) {
        throw new ProviderError(ProviderErrorCode.NotConfigured, 'jwt', 'NoKid', 'every JWT key needs a kid');
      }
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
      const publicKey = (await importJWK({ ...pub, alg }, alg)) as CryptoKey;
      verifyKeys.set(jwk.kid, { alg, key: publicKey });
      const exported = await exportJWK(publicKey);
      published.push({ ...exported, kid: jwk.kid, alg, use: 'sig' });
      if (!signing && jwk.d) {
        signing = {
          kid: jwk.kid,
          alg,
          privateKey: (await importJWK({ ...jwk, alg }, alg)) as CryptoKey,
        };
      }
    }
    if (!signing) {
      throw new ProviderError(ProviderErrorCode.NotConfigured, 'jwt', 'NoPrivateKey', 'no private key to sign with');
    }
    return new JwtKeySet(signing, { keys: published }, verifyKeys);
  }

  verifyKey(kid: string | undefined): { alg: SigningAlg; key: CryptoKey } | undefined {
    return kid === undefined ? undefined : this.verifyKeys.get(kid);
  }
}

function algOf(jwk: JWK): SigningAlg {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    return 'EdDSA';
  }
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') {
    return 'ES256';
  }
  throw new ProviderError(
    ProviderErrorCode.NotConfigured,
    'jwt',
    'UnsupportedKey',
    `JWT key ${jwk.kid ?? '?'} must be Ed25519 (EdDSA) or P-256 (ES256)`,
  );
}
