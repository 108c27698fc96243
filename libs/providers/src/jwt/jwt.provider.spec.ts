import { calculateJwkThumbprint, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, importJWK } from 'jose';
import { JwtKeySet, SIGNING_ALGS, type SigningAlg } from './jwt-key-set';
import { JwtProvider } from './jwt.provider';
import type { JwtDenylist } from './jwt-denylist.port';

class MemoryDenylist implements JwtDenylist {
  readonly denied = new Set<string>();
  add(jti: string): Promise<void> {
    this.denied.add(jti);
    return Promise.resolve();
  }
  addMany(entries: { jti: string }[]): Promise<void> {
    entries.forEach((e) => this.denied.add(e.jti));
    return Promise.resolve();
  }
  has(jti: string): Promise<boolean> {
    return Promise.resolve(this.denied.has(jti));
  }
}

async function keySet(alg: SigningAlg) {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
    ...(alg === 'RS256' ? { modulusLength: 2048 } : {}),
  });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint(jwk);
  jwk.alg = alg;
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return { keys: await JwtKeySet.fromJwks([jwk]), publicJwk: pub, kid: jwk.kid };
}

const ISSUER = 'https://leash.example.test';
const issuedAt = Date.UTC(2030, 0, 1, 12, 0, 0);
const command = {
  leaseId: 'lease-abc',
  requestId: 'req-abc',
  role: { id: 'demo-staging-read', settings: { audience: 'demo-api', scope: ['read', 'list'] } },
  environment: 'staging',
  principal: 'agent-x',
  owner: 'bob',
  sessionId: 'sess-1',
  ttlSeconds: 600,
  issuedAt,
  expiresAt: issuedAt + 600_000,
  approval: { digest: 'a'.repeat(64), approvers: ['alice', 'dave'], auto: false, policyVersion: 'v7' },
};

describe('JwtProvider signs with node:crypto: tokens that standard verifiers accept', () => {
  it.each(SIGNING_ALGS)('%s: header, claims and signature verify with jose against the published key', async (alg) => {
    const { keys, publicJwk, kid } = await keySet(alg);
    const provider = new JwtProvider(keys, new MemoryDenylist(), ISSUER);
    const issued = await provider.issue(command);
    const token = issued.credential.token;
    expect(decodeProtectedHeader(token)).toEqual({ alg, kid, typ: 'JWT' });
    const { payload } = await jwtVerify(token, await importJWK(publicJwk, alg), {
      issuer: ISSUER,
      audience: 'demo-api',
      algorithms: [alg],
      currentDate: new Date(issuedAt + 1000),
    });
    expect(payload).toEqual({
      env: 'staging',
      scope: 'read list',
      role: 'demo-staging-read',
      leash_request: 'req-abc',
      leash_approval: { digest: 'a'.repeat(64), approvers: ['alice', 'dave'], auto: false, policyVersion: 'v7' },
      leash_session: 'sess-1',
      act: { sub: 'bob' },
      iss: ISSUER,
      sub: 'agent-x',
      aud: 'demo-api',
      jti: 'lease-abc',
      iat: issuedAt / 1000,
      exp: issuedAt / 1000 + 600,
    });
    expect(issued.providerRef).toEqual({ jti: 'lease-abc', kid });
    expect(issued.expiresAt).toBe(command.expiresAt);
  });

  it.each(SIGNING_ALGS)('%s: a token with a changed claim or another key no longer verifies', async (alg) => {
    const { keys, publicJwk } = await keySet(alg);
    const other = await keySet(alg);
    const token = (await new JwtProvider(keys, new MemoryDenylist(), ISSUER).issue(command)).credential.token;
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), scope: 'admin' }),
    ).toString('base64url');
    const key = await importJWK(publicJwk, alg);
    const options = { algorithms: [alg], currentDate: new Date(issuedAt + 1000) };
    await expect(jwtVerify(`${h}.${forged}.${s}`, key, options)).rejects.toThrow(/signature verification failed/);
    await expect(jwtVerify(token, await importJWK(other.publicJwk, alg), options)).rejects.toThrow(
      /signature verification failed/,
    );
  });

  it('introspection reads a freshly signed token as active, and as inactive once its jti is denylisted', async () => {
    const { keys } = await keySet('ES256');
    const denylist = new MemoryDenylist();
    const provider = new JwtProvider(keys, denylist, ISSUER);
    const now = Date.now();
    const issued = await provider.issue({ ...command, issuedAt: now, expiresAt: now + 600_000 });
    await expect(provider.introspect(issued.credential.token)).resolves.toMatchObject({
      active: true,
      sub: 'agent-x',
      jti: 'lease-abc',
    });
    await provider.revoke({
      leaseId: 'lease-abc',
      handle: issued.revocationHandle,
      expiresAt: issued.expiresAt,
    });
    await expect(provider.introspect(issued.credential.token)).resolves.toEqual({ active: false });
  });
});
