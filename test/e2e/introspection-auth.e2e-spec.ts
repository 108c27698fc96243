import { createHash, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { LeashStack } from '../support/leash-stack';

// RFC 7662 §2.1: introspection answers only authenticated resource servers (policy `introspection`),
// driven with openid-client's tokenIntrospection (client_secret_basic) and with bearer identity tokens.

const LIMIT = 30;
// Characters that RFC 6749 §2.3.1's form-urlencoding must carry through Basic: space, colon, plus, percent, non-ASCII.
const secret = `${randomBytes(32).toString('base64url')} :+%é`;
const otherSecret = randomBytes(32).toString('base64url');
const sha256 = (s: string): string => `sha256:${createHash('sha256').update(s, 'utf8').digest('hex')}`;

describe('introspection requires an authenticated resource server', () => {
  let stack: LeashStack;
  let credential: string;
  let memberToken: string;
  let strangerToken: string;

  const clientConfig = (id: string, clientSecret: string): client.Configuration => {
    const config = new client.Configuration(
      { issuer: stack.url, introspection_endpoint: `${stack.url}/v1/introspect` },
      id,
      undefined,
      client.ClientSecretBasic(clientSecret),
    );
    client.allowInsecureRequests(config);
    return config;
  };

  const post = async (
    headers: Record<string, string>,
    body = `token=${encodeURIComponent(credential)}`,
  ): Promise<{ status: number; headers: Headers; text: string }> => {
    const res = await fetch(`${stack.url}/v1/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };

  const basic = (id: string, s: string): string =>
    `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(s)}`).toString('base64')}`;

  beforeAll(async () => {
    stack = await LeashStack.start({
      name: 'introspect-auth',
      env: { LEASH_RATE_LIMIT_PER_MINUTE: String(LIMIT) },
      policy: (doc) => ({
        ...doc,
        introspection: {
          ...(doc.introspection as object),
          clients: [
            { id: 'billing-api', secretHash: sha256(secret) },
            { id: 'search-api', secretHash: sha256(otherSecret) },
          ],
        },
      }),
    });
    stack.issuedSecrets.push(secret, otherSecret);
    memberToken = await stack.devToken({ subject: 'demo-api' });
    strangerToken = await stack.devToken({ subject: 'alice' });
    const agent = await stack.devToken({ subject: 'agent-introspect', owner: 'bob' });
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 600, reason: 'introspection test' },
    });
    expect(created.status).toBe(201);
    const claim = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
    expect(claim.status).toBe(201);
    credential = claim.body.credential.token as string;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("answers openid-client's tokenIntrospection with client_secret_basic (secret with reserved characters)", async () => {
    const answer = await client.tokenIntrospection(clientConfig('billing-api', secret), credential);
    expect(answer).toMatchObject({ active: true, sub: 'agent-introspect', env: 'staging' });
    const inactive = await client.tokenIntrospection(clientConfig('billing-api', secret), 'not-a-token');
    expect(inactive).toEqual({ active: false });
  });

  it('answers a bearer identity token of a resource-servers member, with Cache-Control: no-store', async () => {
    const res = await post({ authorization: `Bearer ${memberToken}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(JSON.parse(res.text)).toMatchObject({ active: true, sub: 'agent-introspect' });
  });

  it('refuses a caller without credentials: 401, WWW-Authenticate, invalid_client, no claims', async () => {
    const res = await post({});
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]+", Bearer realm="[^"]+"$/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(JSON.parse(res.text)).toMatchObject({ error: 'invalid_client' });
    expect(res.text).not.toContain('agent-introspect');
    expect(res.text).not.toContain('active');
    // The same for a JSON body, and for the `token` that RFC 7662 clients post.
    const json = await stack.call('POST', '/v1/introspect', { body: { token: credential } });
    expect(json.status).toBe(401);
    expect(JSON.stringify(json.body)).not.toContain('agent-introspect');
  });

  it('refuses a wrong secret, an unknown client and a malformed Basic header with 401 invalid_client', async () => {
    // openid-client surfaces the 401's WWW-Authenticate challenge (WWWAuthenticateChallengeError).
    await expect(client.tokenIntrospection(clientConfig('billing-api', otherSecret), credential)).rejects.toMatchObject(
      {
        status: 401,
        cause: [expect.objectContaining({ scheme: 'basic' }), expect.objectContaining({ scheme: 'bearer' })],
      },
    );
    for (const authorization of [
      basic('billing-api', `${secret}x`),
      basic('nobody', secret),
      basic('search-api', secret),
      'Basic !!!',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      'Digest username="billing-api"',
    ]) {
      const res = await post({ authorization });
      expect({ authorization, status: res.status }).toEqual({ authorization, status: 401 });
      expect(res.headers.get('www-authenticate')).toContain('Basic realm=');
      expect(JSON.parse(res.text)).toMatchObject({ error: 'invalid_client' });
      expect(res.text).not.toContain('agent-introspect');
    }
  });

  it('refuses a bearer token of a principal in no introspection group (403) and a forged one (401)', async () => {
    const stranger = await post({ authorization: `Bearer ${strangerToken}` });
    expect(stranger.status).toBe(403);
    expect(JSON.parse(stranger.text)).toMatchObject({ error: 'insufficient_scope' });
    expect(stranger.text).not.toContain('agent-introspect');
    const [h, p] = memberToken.split('.');
    const forged = await post({ authorization: `Bearer ${h}.${p}.${Buffer.from('forged').toString('base64url')}` });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
    expect(forged.text).not.toContain('agent-introspect');
  });

  it('refuses client credentials both in the header and in the form (RFC 6749 §2.3: one method)', async () => {
    const res = await post(
      { authorization: basic('billing-api', secret) },
      `token=${encodeURIComponent(credential)}&client_id=billing-api&client_secret=${encodeURIComponent(secret)}`,
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ error: 'invalid_request' });
  });

  it('rate-limits per authenticated client: one busy client or a failing scanner does not starve another', async () => {
    // A scanner with bad credentials, from the same address as every resource server.
    let scannerLimited = false;
    for (let i = 0; i < LIMIT + 3 && !scannerLimited; i += 1) {
      scannerLimited = (await post({ authorization: basic('billing-api', 'guess') })).status === 429;
    }
    expect(scannerLimited).toBe(true);
    // A busy client exhausts its own bucket…
    let busyLimited = false;
    for (let i = 0; i < LIMIT + 3 && !busyLimited; i += 1) {
      busyLimited = (await post({ authorization: basic('billing-api', secret) })).status === 429;
    }
    expect(busyLimited).toBe(true);
    // …while another client and a member's bearer token are still answered.
    const other = await post({ authorization: basic('search-api', otherSecret) });
    expect(other.status).toBe(200);
    expect(JSON.parse(other.text)).toMatchObject({ active: true });
    expect((await post({ authorization: `Bearer ${memberToken}` })).status).toBe(200);
  });

  it('leaks no issued secret or client secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
