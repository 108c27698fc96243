import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeashStack } from '../support/leash-stack';
import { TEST_IDP_AUDIENCE, TEST_IDP_ISSUER, TestIdp, unsignedToken } from '../support/test-idp';
import { expectProblem } from '../support/expect-problem';

const ROOT = join(__dirname, '..', '..');

describe('API edge: authentication and input validation', () => {
  let stack: LeashStack;
  let idp: TestIdp;
  let agent: string;

  beforeAll(async () => {
    idp = await TestIdp.create();
    stack = await LeashStack.start({ name: 'input', idp, worker: false });
    agent = await idp.token({ sub: 'agent-input', owner: 'carol' });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const create = (token: string | undefined, body: unknown) => stack.call('POST', '/v1/requests', { token, body });
  const valid = { role: 'demo-staging-read', environment: 'staging', reason: 'ok', ttlSeconds: 60 };

  it('accepts a token from a trusted external issuer and maps sub and owner', async () => {
    const res = await create(agent, valid);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ principal: 'agent-input', owner: 'carol' });
  });

  it.each([
    ['no Authorization header', undefined],
    ['a non-JWT bearer', 'not-a-jwt'],
  ])('answers 401 for %s', async (_label, token) => {
    expectProblem(await create(token, valid), 401, /unauthenticated$/);
  });

  it('answers 401 for a Basic authorization header', async () => {
    const res = await stack.call('POST', '/v1/requests', { body: valid, headers: { authorization: 'Basic YTpi' } });
    expectProblem(res, 401, /unauthenticated$/);
  });

  it('refuses alg:none, wrong audience, untrusted issuer, expired and not-yet-valid tokens', async () => {
    const now = Math.floor(Date.now() / 1000);
    const none = unsignedToken({ iss: TEST_IDP_ISSUER, aud: TEST_IDP_AUDIENCE, sub: 'agent-x', exp: now + 600 });
    expectProblem(await create(none, valid), 401);
    expectProblem(await create(await idp.token({ sub: 'agent-x' }, { audience: 'someone-else' }), valid), 401);
    expectProblem(await create(await idp.token({ sub: 'agent-x' }, { issuer: 'https://evil.example' }), valid), 401);
    const expired = await create(await idp.token({ sub: 'agent-x' }, { expiresIn: now - 120 }), valid);
    expectProblem(expired, 401);
    expect(expired.body.detail).toContain('expired');
    expectProblem(await create(await idp.token({ sub: 'agent-x' }, { notBefore: now + 300 }), valid), 401);
    // A forged signature: valid claims, signature of another key.
    const other = await TestIdp.create();
    expectProblem(await create(await other.token({ sub: 'agent-x' }), valid), 401);
  });

  it('allows up to 60 s of clock skew on exp', async () => {
    const now = Math.floor(Date.now() / 1000);
    const res = await create(await idp.token({ sub: 'agent-skew' }, { expiresIn: now - 20 }), valid);
    expect(res.status).toBe(201);
  });

  it('answers 400 naming the field for malformed JSON, missing, wrong and unknown fields', async () => {
    expectProblem(await stack.call('POST', '/v1/requests', { token: agent, raw: '{"role": ' }), 400, /malformed-json$/);
    const missing = await create(agent, { role: 'demo-staging-read' });
    expectProblem(missing, 400, /validation$/);
    expect(missing.body.errors).toEqual(
      expect.arrayContaining([
        { field: 'body.environment', message: 'is required' },
        { field: 'body.reason', message: 'is required' },
      ]),
    );
    // A field sent with the wrong type is not "required": the answer says what was expected.
    const wrong = await create(agent, { ...valid, ttlSeconds: 'ten' });
    expect(wrong.body.errors).toEqual([
      { field: 'body.ttlSeconds', message: expect.stringMatching(/expected number/i) },
    ]);
    const unknown = await create(agent, { ...valid, admin: true });
    expectProblem(unknown, 400);
    expect(unknown.body.errors[0].message).toContain('admin');
    expectProblem(await stack.call('GET', '/v1/requests/not-an-id', { token: agent }), 400);
    expectProblem(
      await stack.call('GET', '/v1/requests/req-aaaaaaaaaaaaaaaaaaaa?waitSeconds=1000', { token: agent }),
      400,
    );
  });

  it('answers 403 with reasons for anything the policy does not allow', async () => {
    const unknownRole = await create(agent, { ...valid, role: 'root-everything' });
    expectProblem(unknownRole, 403, /policy-denied$/);
    expect(unknownRole.body.reasons).toEqual(['unknown role "root-everything"']);
    const tooLong = await create(agent, { ...valid, ttlSeconds: 7200 });
    expectProblem(tooLong, 403);
    expect(tooLong.body.reasons[0]).toContain('exceeds the maximum');
    const tooShort = await create(agent, { ...valid, ttlSeconds: 2 });
    expect(tooShort.body.reasons[0]).toContain('below');
    const wrongEnv = await create(agent, { ...valid, environment: 'production' });
    expect(wrongEnv.body.reasons[0]).toContain('does not serve');
    const human = await create(await idp.token({ sub: 'human-dave' }), valid);
    expectProblem(human, 403);
    expect(human.body.reasons[0]).toContain('not allowed');
  });

  it('answers 413 for an oversized body and 415 for a wrong content type', async () => {
    const huge = { ...valid, context: { plan: 'x'.repeat(70_000) } };
    expectProblem(await create(agent, huge), 413, /payload-too-large$/);
    const text = await fetch(`${stack.url}/v1/requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent}`, 'content-type': 'text/plain' },
      body: 'role=x',
    });
    expect(text.status).toBe(415);
    expect(text.headers.get('content-type')).toContain('application/problem+json');
  });

  it('answers 404 problem+json for unknown routes and unknown ids', async () => {
    expectProblem(await stack.call('GET', '/v1/nothing-here'), 404);
    expectProblem(await stack.call('GET', '/v1/requests/req-aaaaaaaaaaaaaaaaaaaa', { token: agent }), 404);
    expectProblem(await stack.call('GET', '/v1/leases/lease-aaaaaaaaaaaaaaaaaaaa', { token: agent }), 404);
  });

  it('replays an Idempotency-Key with the first answer and refuses it for a different body', async () => {
    const headers = { 'idempotency-key': `k-${Date.now()}` };
    const first = await stack.call('POST', '/v1/requests', { token: agent, body: valid, headers });
    const second = await stack.call('POST', '/v1/requests', { token: agent, body: valid, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const other = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: { ...valid, reason: 'other' },
      headers,
    });
    expectProblem(other, 400);
  });

  it('introspects garbage as inactive and validates its input', async () => {
    const res = await stack.introspect('garbage');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ active: false });
    const rs = await stack.devToken({ subject: 'demo-api' });
    expectProblem(await stack.call('POST', '/v1/introspect', { token: rs, body: {} }), 400);
  });

  it('still serves after all of the above', async () => {
    expect((await stack.call('GET', '/healthz')).status).toBe(200);
    expect((await create(agent, valid)).status).toBe(201);
    const docs = await stack.call('GET', '/openapi.json');
    expect(docs.body.openapi).toBe('3.1.0');
    expect(Object.keys(docs.body.paths)).toEqual(
      expect.arrayContaining(['/v1/requests', '/v1/requests/{id}/credentials']),
    );
  });
});

describe('development issuer and start-up checks', () => {
  it('has no /v1/dev/tokens route unless LEASH_DEV_ISSUER=true', async () => {
    const idp = await TestIdp.create();
    const stack = await LeashStack.start({ name: 'nodev', idp, devIssuer: false, worker: false });
    try {
      const res = await stack.call('POST', '/v1/dev/tokens', { body: { subject: 'agent-x' } });
      expect(res.status).toBe(404);
      expect(stack.api.log).not.toContain('development token issuer is ON');
      const docs = await stack.call('GET', '/openapi.json');
      expect(Object.keys(docs.body.paths)).not.toContain('/v1/dev/tokens');
    } finally {
      await stack.stop();
    }
  });

  it('refuses to start on an invalid policy, naming the file, line and reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'leash-badpolicy-'));
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      'issuers:\n  - name: dev\n    devIssuer: true\n    audience: leash\nenvironments:\n  staging:\n    tier: stagin\n    maxTtl: 1h\nroles: []\n',
    );
    const res = spawnSync(process.execPath, [join(ROOT, 'dist/apps/api/src/main.js')], {
      env: { PATH: process.env.PATH, LEASH_POLICY: policy, LEASH_PORT: '0', LEASH_REDIS_URL: 'redis://127.0.0.1:1' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(res.status).toBe(2);
    // file:line:column: path: reason
    expect(res.stderr).toContain(`${policy}:7:11: environments.staging.tier`);
    expect(res.stderr).toContain('roles');
  });

  it('refuses to start without LEASH_JWT_KEYS when the policy has jwt roles, and says to set it', () => {
    const res = spawnSync(process.execPath, [join(ROOT, 'dist/apps/api/src/main.js')], {
      env: {
        PATH: process.env.PATH,
        LEASH_POLICY: join(ROOT, 'deploy/examples/demo-policy.yaml'),
        LEASH_DEV_ISSUER: 'true',
        LEASH_DATA_DIR: mkdtempSync(join(tmpdir(), 'leash-nokeys-')),
        LEASH_PORT: '0',
        LEASH_REDIS_URL: 'redis://127.0.0.1:1',
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/provider "jwt" is not enabled \(set LEASH_JWT_KEYS to a key set file/);
  });

  it('refuses to start on bad configuration, naming every bad variable', () => {
    const res = spawnSync(process.execPath, [join(ROOT, 'dist/apps/api/src/main.js')], {
      env: { PATH: process.env.PATH, LEASH_PORT: 'eighty', LEASH_DEV_ISSUER: 'maybe' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('LEASH_PORT');
    expect(res.stderr).toContain('LEASH_DEV_ISSUER');
    expect(res.stderr).toContain('LEASH_POLICY');
  });
});
