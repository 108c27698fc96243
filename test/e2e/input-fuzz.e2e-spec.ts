import { connect } from 'node:net';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { LeashStack } from '../support/leash-stack';

type Call = { method: string; path: string; headers?: Record<string, string>; body?: string };
type Answer = { status: number; contentType: string; body: string };

const PROBLEM = 'application/problem+json';
/** Calls each property run sends; the suite sends well over 10,000 inputs in all (counted below). */
const RUNS = 1500;

/** One raw HTTP exchange on a fresh socket: for what fetch refuses to send (huge headers, bad request lines). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => (chunks.length > 0 ? resolve(Buffer.concat(chunks).toString()) : reject(err)));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

/**
 * Invariant 9 of issue 13: every input gets a 2xx or a 4xx problem+json, never a 500; the process
 * stays up; a rejected call writes nothing (Redis keyspace size and the audit stream unchanged).
 * fast-check generates bodies, query strings, path ids and headers for every endpoint: the API,
 * the console's forms, Slack interactivity and introspection.
 */
describe('input fuzzing: every endpoint answers 2xx or 4xx problem+json and writes nothing for rejected input', () => {
  let stack: LeashStack;
  let redis: Redis;
  let port: number;
  let sent = 0;
  const tokens: Record<string, string> = {};
  let consoleCookie = '';
  let consoleCsrf = '';
  let requestId = '';

  beforeAll(async () => {
    stack = await LeashStack.start({
      name: 'fuzz',
      worker: false,
      env: {
        LEASH_RATE_LIMIT_PER_MINUTE: '1000000',
        LEASH_SLACK_BOT_TOKEN: 'xoxb-fuzz-000000000000',
        LEASH_SLACK_SIGNING_SECRET: 'fuzz-signing-secret-0123456789',
        LEASH_SLACK_CHANNEL: '#leash-approvals',
        LEASH_SLACK_API_URL: 'http://127.0.0.1:9/api/',
      },
    });
    port = Number(new URL(stack.url).port);
    redis = new Redis(stack.redis.url, { lazyConnect: true });
    await redis.connect();
    tokens.agent = await stack.devToken({ subject: 'agent-fuzz', owner: 'bob' });
    tokens.admin = await stack.devToken({ subject: 'admin' });
    tokens.alice = await stack.devToken({ subject: 'alice' });
    tokens.resourceServer = await stack.devToken({ subject: 'demo-api' });
    const created = await stack.call('POST', '/v1/requests', {
      token: tokens.agent,
      body: { role: 'demo-prod-write', environment: 'production', reason: 'fuzz target', ttlSeconds: 60 },
    });
    requestId = created.body.id as string;
    // A console session through the development sign-in form, as a browser would.
    const login = await fetch(`${stack.url}/console/login`, { headers: { accept: 'text/html' } });
    const pre = (login.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
    const preCsrf = /name="_csrf" value="([^"]+)"/.exec(await login.text())?.[1] ?? '';
    const signedIn = await fetch(`${stack.url}/console/login/dev`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: pre, accept: 'text/html' },
      body: new URLSearchParams({ _csrf: preCsrf, subject: 'alice' }).toString(),
    });
    consoleCookie = (signedIn.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
    const page = await fetch(`${stack.url}/console`, { headers: { cookie: consoleCookie, accept: 'text/html' } });
    consoleCsrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    expect(consoleCsrf).not.toBe('');
  });

  afterAll(async () => {
    process.stdout.write(`input fuzzing: ${sent} generated calls\n`);
    redis?.disconnect();
    await stack?.stop();
  });

  const writes = async (): Promise<string> => `${await redis.dbsize()}|${await redis.xlen('{leash}:audit')}`;

  /** Sends one call; checks the answer and, for a rejected call, that nothing was written. */
  async function check(call: Call): Promise<Answer> {
    const before = await writes();
    const res = await fetch(`${stack.url}${call.path}`, {
      method: call.method,
      headers: call.headers,
      body: call.body,
      redirect: 'manual',
    });
    const answer = { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
    sent += 1;
    const where = `${call.method} ${call.path.slice(0, 200)} → ${answer.status} ${answer.body.slice(0, 200)}`;
    expect({ where, ok: answer.status < 500 }).toEqual({ where, ok: true });
    if ([400, 401, 403].includes(answer.status) && call.path.split('?')[0] === '/v1/introspect') {
      // Introspection's client authentication refusals are OAuth errors (RFC 6749 §5.2), not problem+json.
      const oauth = JSON.parse(answer.body) as { error?: string };
      if (answer.contentType.startsWith('application/json')) {
        expect({ where, error: typeof oauth.error }).toEqual({ where, error: 'string' });
        expect(answer.status === 400 || res.headers.has('www-authenticate')).toBe(true);
        return answer;
      }
    }
    if (answer.status >= 400) {
      expect({ where, type: answer.contentType.split(';')[0] }).toEqual({ where, type: PROBLEM });
      const problem = JSON.parse(answer.body) as { status: number; type: string; detail: string };
      expect(problem.status).toBe(answer.status);
      expect(answer.body).not.toMatch(/\bat .+\.js:\d+/);
      // Refusals of authentication and authorization may be audited (security events); nothing else is written.
      if (answer.status !== 401 && answer.status !== 403) {
        expect({ where, writes: await writes() }).toEqual({ where, writes: before });
      }
    }
    return answer;
  }

  const jsonish = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 200 }),
    fc.constantFrom('1e400', '{"ttlSeconds":1e400}', '{"role":"demo-staging-read","ttlSeconds":-1e400}', '[', '{"a":'),
    fc
      .record({
        role: fc.oneof(fc.constantFrom('demo-staging-read', 'demo-prod-write'), fc.string({ maxLength: 40 })),
        environment: fc.oneof(fc.constantFrom('staging', 'production'), fc.string({ maxLength: 20 })),
        reason: fc.oneof(fc.string({ maxLength: 40 }), fc.integer()),
        ttlSeconds: fc.oneof(fc.integer(), fc.double(), fc.constant('1e400')),
        session: fc.oneof(fc.record({ id: fc.string({ maxLength: 200 }) }), fc.string()),
        context: fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 50 })),
        comment: fc.string({ maxLength: 2000 }),
        token: fc.string({ maxLength: 100 }),
      })
      .map((v) => JSON.stringify(v).replace('"1e400"', '1e400')),
  );
  const printable = fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 300,
  });
  const pathId = fc.oneof(
    fc.string({ maxLength: 300 }).map((s) => encodeURIComponent(s)),
    fc.constantFrom('%', '%zz', '%E0%A4%A', '..%2F..%2Fetc', 'req-' + 'a'.repeat(400), '%00', '%F0%9F%92%A9'),
  );
  const headerSets = fc.record(
    {
      authorization: fc.oneof(printable, fc.constantFrom('Bearer ', 'Basic YTpi', 'Bearer a.b.c')),
      'idempotency-key': fc.oneof(printable, fc.uuid()),
      'content-type': fc.oneof(
        fc.constantFrom(
          'application/json',
          'application/x-www-form-urlencoded',
          'text/plain',
          'application/json; charset=latin1',
        ),
        printable,
      ),
      accept: fc.oneof(fc.constantFrom('application/json', '*/*', 'text/html'), printable),
      'x-slack-signature': printable,
      'x-slack-request-timestamp': printable,
      cookie: printable,
    },
    { requiredKeys: [] },
  );

  const apiRoutes = (id: string): [string, string][] => [
    ['POST', '/v1/requests'],
    ['GET', `/v1/requests/${id}`],
    ['POST', `/v1/requests/${id}/approve`],
    ['POST', `/v1/requests/${id}/deny`],
    ['POST', `/v1/requests/${id}/credentials`],
    ['DELETE', `/v1/requests/${id}`],
    ['GET', '/v1/leases'],
    ['GET', `/v1/leases/${id}`],
    ['DELETE', `/v1/leases/${id}`],
    ['POST', '/v1/sessions'],
    ['POST', `/v1/sessions/${id}/heartbeat`],
    ['DELETE', `/v1/sessions/${id}`],
    ['POST', `/v1/sessions/${id}/events`],
    ['GET', `/v1/sessions/${id}/events`],
    ['POST', '/v1/admin/revoke'],
    ['POST', '/v1/policy/explain'],
    ['GET', '/v1/audit'],
    ['GET', '/v1/audit/verify'],
    ['GET', '/v1/audit/checkpoints'],
    ['POST', '/v1/audit/checkpoints'],
    ['GET', '/v1/audit/sinks'],
    ['GET', '/v1/roles'],
    ['POST', '/v1/dev/tokens'],
    ['POST', '/v1/introspect'],
    ['POST', '/slack/interactions'],
    ['GET', '/.well-known/jwks.json'],
    ['GET', '/healthz'],
    ['GET', '/readyz'],
    ['GET', '/openapi.json'],
    ['GET', '/docs'],
    ['GET', '/metrics'],
  ];

  it('fuzzes every operation /openapi.json documents (a new endpoint cannot skip this suite)', async () => {
    const doc = (await (await fetch(`${stack.url}/openapi.json`)).json()) as { paths: Record<string, object> };
    const template = (path: string) => path.replace(/\{[^}]+\}/g, '{}');
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} ${template(path)}`),
    );
    const fuzzed = new Set(apiRoutes('{}').map(([m, p]) => `${m} ${p}`));
    expect(documented.length).toBeGreaterThan(10);
    expect(documented.filter((op) => !fuzzed.has(op))).toEqual([]);
  });

  it('answers generated JSON bodies on every API route (with and without Idempotency-Key) with 2xx or 4xx problem+json', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(apiRoutes('').length - 1),
        fc.constantFrom('agent', 'admin', 'alice'),
        jsonish,
        fc.option(fc.uuid()),
        async (route, who, body, key) => {
          const [method, path] = apiRoutes(requestId)[route];
          await check({
            method,
            path: path.replace('/v1/sessions/', '/v1/sessions/fuzz-'),
            headers: {
              authorization: `Bearer ${tokens[who]}`,
              'content-type': 'application/json',
              ...(key ? { 'idempotency-key': key } : {}),
            },
            body: method === 'GET' ? undefined : body,
          });
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('answers generated path ids and query strings with 2xx or 4xx problem+json', async () => {
    const query = fc.dictionary(
      fc.oneof(
        fc.constantFrom('session', 'environment', 'role', 'state', 'limit', 'waitSeconds', 'actor', 'since', 'after'),
        printable,
      ),
      fc.oneof(printable, fc.string({ maxLength: 50 }), fc.constantFrom('-1', '1e400', 'NaN', '0', '%', '%zz')),
      { maxKeys: 4 },
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(apiRoutes('').length - 1), pathId, query, async (route, id, q) => {
        const [method, path] = apiRoutes(id)[route];
        const qs = Object.entries(q)
          .map(([k, v]) => `${encodeURIComponent(k)}=${k === 'waitSeconds' ? '0' : v.replace(/[#\s]/g, '')}`)
          .join('&');
        await check({
          method,
          path: `${path}${qs ? `?${qs}` : ''}`,
          headers: { authorization: `Bearer ${tokens.admin}` },
        });
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('answers generated headers (authorization, content types, keys, Slack signatures) with 2xx or 4xx problem+json', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(apiRoutes('').length - 1), headerSets, jsonish, async (route, headers, body) => {
        const [method, path] = apiRoutes(requestId)[route];
        await check({ method, path, headers, body: method === 'GET' ? undefined : body });
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('answers generated console form posts (signed in, with and without the CSRF token) with 2xx/3xx or 4xx problem+json', async () => {
    const forms = [
      'requests/ID/approve',
      'requests/ID/deny',
      'admin/revoke',
      'leases/ID/revoke',
      'sessions/ID/revoke',
      'logout',
    ];
    const field = fc.oneof(
      fc.constantFrom('_csrf', 'digest', 'ttlSeconds', 'comment', 'environment', 'confirm', 'reason', 'returnTo'),
      fc.string({ maxLength: 20 }),
    );
    const value = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.constantFrom('1e400', '-1', 'é'.repeat(43), '€'.repeat(32), 'production', '%', '\u0000'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.nat(forms.length - 1),
        fc.oneof(fc.constant(requestId), pathId),
        fc.dictionary(field, value, { maxKeys: 5 }),
        fc.constantFrom('valid', 'missing', 'multibyte', 'random'),
        async (form, id, fields, csrf) => {
          const body = new URLSearchParams(fields);
          if (csrf === 'valid') {
            body.set('_csrf', consoleCsrf);
          } else if (csrf === 'multibyte') {
            // Same length in characters as the real token, more bytes.
            body.set('_csrf', 'é'.repeat(consoleCsrf.length));
          } else if (csrf === 'missing') {
            body.delete('_csrf');
          }
          await check({
            method: 'POST',
            path: `/console/${forms[form].replace('ID', id)}`,
            headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: consoleCookie },
            body: body.toString(),
          });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('answers generated introspection and Slack interaction forms with 2xx or 4xx problem+json', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.dictionary(
          fc.oneof(fc.constantFrom('token', 'payload', 'token_type_hint'), fc.string({ maxLength: 10 })),
          fc.string({ maxLength: 400 }),
          {
            maxKeys: 3,
          },
        ),
        printable,
        async (slack, fields, signature) => {
          await check({
            method: 'POST',
            path: slack ? '/slack/interactions' : '/v1/introspect',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              ...(slack ? {} : { authorization: `Bearer ${tokens.resourceServer}` }),
              ...(slack
                ? { 'x-slack-signature': signature, 'x-slack-request-timestamp': `${Math.floor(Date.now() / 1000)}` }
                : {}),
            },
            body: new URLSearchParams(fields).toString(),
          });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('answers framework-level errors as problem+json: unknown route, bad URL encoding, long URL, large headers', async () => {
    expect((await check({ method: 'GET', path: '/no/such/route' })).status).toBe(404);
    expect((await check({ method: 'PATCH', path: '/v1/requests' })).status).toBe(404);
    expect((await check({ method: 'GET', path: '/v1/requests/%E0%A4%A' })).status).toBe(400);
    expect((await check({ method: 'GET', path: `/v1/requests/${'a'.repeat(200)}` })).status).toBe(414);
    expect((await check({ method: 'GET', path: `/v1/leases?session=${'a'.repeat(9000)}` })).status).toBe(414);
    const big = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(big).toMatch(/^HTTP\/1\.1 431 /);
    expect(big.toLowerCase()).toContain(`content-type: ${PROBLEM}`);
    const garbage = await raw(port, 'NOT AN HTTP REQUEST\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(garbage.toLowerCase()).toContain(`content-type: ${PROBLEM}`);
    sent += 2;
  });

  it('kept the process up and sent at least 10,000 generated inputs', async () => {
    expect(() => process.kill(stack.api.pid ?? -1, 0)).not.toThrow();
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
    expect(sent).toBeGreaterThanOrEqual(10_000);
    expect(stack.api.log).not.toMatch(/"level":50[^\n]*request failed/);
  });
  it('leaks no issued secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
