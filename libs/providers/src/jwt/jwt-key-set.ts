import { KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { exportJWK, importJWK, type CryptoKey, type JWK } from 'jose';
import { ProviderError, ProviderErrorCode } from '../provider.errors';
import { currentIdentity, keyFileExposure } from './key-file-permissions';

/** Algorithms of broker-signed JWTs. ES256 is the default of generated key sets (every common verifier has it). */
export const SIGNING_ALGS = ['ES256', 'EdDSA', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
const MIN_RSA_BITS = 2048;

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey;
  /** The same private key for node:crypto's synchronous sign (imported once). */
  keyObject: KeyObject;
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
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, ...pub } = jwk;
      const publicKey = (await importJWK({ ...pub, alg }, alg)) as CryptoKey;
      verifyKeys.set(jwk.kid, { alg, key: publicKey });
      const exported = await exportJWK(publicKey);
      published.push({ ...exported, kid: jwk.kid, alg, use: 'sig' });
      if (!signing && jwk.d) {
        const privateKey = (await importJWK({ ...jwk, alg }, alg)) as CryptoKey;
        signing = { kid: jwk.kid, alg, privateKey, keyObject: KeyObject.from(privateKey) };
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
  const alg = keyAlg(jwk);
  // A key says which algorithm it is for; one key is never used with two.
  if (!alg || (jwk.alg !== undefined && jwk.alg !== alg)) {
    throw new ProviderError(
      ProviderErrorCode.NotConfigured,
      'jwt',
      'UnsupportedKey',
      `JWT key ${jwk.kid ?? '?'} must be P-256 (ES256), Ed25519 (EdDSA) or RSA of at least ${MIN_RSA_BITS} bits (RS256)`,
    );
  }
  return alg;
}

function keyAlg(jwk: JWK): SigningAlg | undefined {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    return 'EdDSA';
  }
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') {
    return 'ES256';
  }
  if (jwk.kty === 'RSA' && typeof jwk.n === 'string' && Buffer.from(jwk.n, 'base64url').length * 8 >= MIN_RSA_BITS) {
    return 'RS256';
  }
  return undefined;
}
