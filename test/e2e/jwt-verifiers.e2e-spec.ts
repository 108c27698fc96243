import { execFile } from 'node:child_process';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import { JwksClient } from 'jwks-rsa';
import { LeashStack } from '../support/leash-stack';

// Debian's python3-jwt (PyJWT) is installed for the system interpreter (npm test's set-up asks for it).
const PYTHON = '/usr/bin/python3';
const PYJWT_VERIFY = `
import sys, json, jwt
token, jwks_url, alg, audience, issuer = sys.argv[1:6]
key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
claims = jwt.decode(token, key.key, algorithms=[alg], audience=audience, issuer=issuer)
print(json.dumps({"jti": claims["jti"], "leash_approval": claims["leash_approval"]}))
`;

/** Verifies with PyJWT; resolves with the jti and the approval receipt it read. */
function pyjwtVerify(
  token: string,
  jwksUrl: string,
  alg: string,
  issuer: string,
): Promise<{ jti: string; leash_approval: unknown }> {
  return new Promise((resolve, reject) =>
    execFile(PYTHON, ['-c', PYJWT_VERIFY, token, jwksUrl, alg, 'demo-api', issuer], (err, stdout, stderr) =>
      err
        ? reject(new Error(`PyJWT refused the token: ${stderr.trim().split('\n').pop() ?? ''}`))
        : resolve(JSON.parse(stdout) as { jti: string; leash_approval: unknown }),
    ),
  );
}

async function jsonwebtokenVerify(token: string, jwksUri: string, alg: string, issuer: string): Promise<string> {
  const client = new JwksClient({ jwksUri });
  const { kid } = decodeProtectedHeader(token);
  const key = await client.getSigningKey(kid);
  const claims = jsonwebtoken.verify(token, key.getPublicKey(), {
    algorithms: [alg as jsonwebtoken.Algorithm],
    audience: 'demo-api',
    issuer,
  }) as jsonwebtoken.JwtPayload;
  return claims.jti as string;
}

/** A token whose payload was changed after signing (the signature no longer matches). */
function tampered(token: string): string {
  const [h, p, s] = token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  return [h, Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url'), s].join('.');
}

describe.each([
  // The default of generated key sets: every verifier accepts it.
  { alg: undefined, expected: 'ES256', jsonwebtoken: true },
  { alg: 'RS256' as const, expected: 'RS256', jsonwebtoken: true },
  // jsonwebtoken has no EdDSA: only for verifiers that do (jose, PyJWT with cryptography).
  { alg: 'EdDSA' as const, expected: 'EdDSA', jsonwebtoken: false },
])('credentials of a $expected key set verify with common JWT libraries', ({ alg, expected, jsonwebtoken: jwtLib }) => {
  let stack: LeashStack;
  let token: string;
  let leaseId: string;
  let autoReceipt: Record<string, unknown>;
  let approved: { token: string; receipt: Record<string, unknown> };

  beforeAll(async () => {
    stack = await LeashStack.start({ name: `jwt-${expected}`, ...(alg ? { jwtAlg: alg } : {}), worker: false });
    const agent = await stack.devToken({ subject: 'agent-verifiers' });
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-staging-read', environment: 'staging', reason: 'verifier check' },
    });
    const claim = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
    expect(claim.status).toBe(201);
    token = claim.body.credential.token as string;
    leaseId = claim.body.lease.id as string;
    stack.issuedSecrets.push(token);
    // What the receipt of an auto-approved request must say: its digest, no person, the policy's word.
    autoReceipt = {
      digest: created.body.digest,
      approvers: [],
      auto: true,
      policyVersion: created.body.policyVersion,
    };

    // A production write approved by alice: the receipt names her as the policy knows her.
    const write = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-prod-write', environment: 'production', ttlSeconds: 60, reason: 'verifier check' },
    });
    const alice = await stack.devToken({ subject: 'alice' });
    expect((await stack.call('POST', `/v1/requests/${write.body.id}/approve`, { token: alice, body: {} })).status).toBe(
      200,
    );
    const writeClaim = await stack.call('POST', `/v1/requests/${write.body.id}/credentials`, { token: agent });
    expect(writeClaim.status).toBe(201);
    approved = {
      token: writeClaim.body.credential.token as string,
      receipt: {
        digest: write.body.digest,
        approvers: ['alice'],
        auto: false,
        policyVersion: write.body.policyVersion,
      },
    };
    stack.issuedSecrets.push(approved.token);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it(`is signed with ${expected} and the JWKS publishes the key with that alg`, async () => {
    expect(decodeProtectedHeader(token).alg).toBe(expected);
    const jwks = await stack.call('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys).toEqual([expect.objectContaining({ alg: expected, use: 'sig' })]);
    expect(jwks.body.keys[0]).not.toHaveProperty('d');
  });

  it('jose verifies it against the JWKS URL, and refuses a changed payload', async () => {
    const keys = createRemoteJWKSet(new URL(`${stack.url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(token, keys, {
      issuer: stack.url,
      audience: 'demo-api',
      algorithms: [expected],
    });
    expect(payload.jti).toBe(leaseId);
    expect(payload.leash_approval).toEqual(autoReceipt);
    await expect(jwtVerify(tampered(token), keys, { issuer: stack.url, audience: 'demo-api' })).rejects.toThrow();
  });

  it('carries the approval receipt (leash_approval: request digest, approvers as policy member ids, policy version)', async () => {
    const keys = createRemoteJWKSet(new URL(`${stack.url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(approved.token, keys, {
      issuer: stack.url,
      audience: 'demo-api',
      algorithms: [expected],
    });
    expect(payload.leash_approval).toEqual(approved.receipt);
    expect(approved.receipt.digest).toMatch(/^[0-9a-f]{64}$/);
    // The receipt is covered by the signature: naming another approver breaks it.
    const [h, p, sig] = approved.token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = [
      h,
      Buffer.from(
        JSON.stringify({ ...claims, leash_approval: { ...approved.receipt, approvers: ['mallory'] } }),
      ).toString('base64url'),
      sig,
    ].join('.');
    await expect(jwtVerify(forged, keys, { issuer: stack.url, audience: 'demo-api' })).rejects.toThrow();
    const jwksUrl = `${stack.url}/.well-known/jwks.json`;
    await expect(pyjwtVerify(approved.token, jwksUrl, expected, stack.url)).resolves.toMatchObject({
      leash_approval: approved.receipt,
    });
  });

  (jwtLib ? it : it.skip)('jsonwebtoken + jwks-rsa verify it, and refuse a changed payload', async () => {
    const jwksUri = `${stack.url}/.well-known/jwks.json`;
    expect(await jsonwebtokenVerify(token, jwksUri, expected, stack.url)).toBe(leaseId);
    await expect(jsonwebtokenVerify(tampered(token), jwksUri, expected, stack.url)).rejects.toThrow(/signature/);
  });

  it("PyJWT (Debian's python3-jwt) verifies it with PyJWKClient, and refuses a changed payload", async () => {
    const jwksUrl = `${stack.url}/.well-known/jwks.json`;
    expect(await pyjwtVerify(token, jwksUrl, expected, stack.url)).toEqual({
      jti: leaseId,
      leash_approval: autoReceipt,
    });
    await expect(pyjwtVerify(tampered(token), jwksUrl, expected, stack.url)).rejects.toThrow(/Signature/);
  });

  it('leaks no issued secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
