import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import SwaggerParser from '@apidevtools/swagger-parser';
import fc from 'fast-check';
import type { OpenAPIV3_1 } from 'openapi-types';
import { chromium, type Browser } from 'playwright-core';
import { z } from 'zod';
import {
  AuditCheckpointListSchema,
  AuditCheckpointSchema,
  AuditPageSchema,
  AuditSinkListSchema,
  AuditVerificationSchema,
  ClaimResponseSchema,
  IntrospectionResponseSchema,
  JwkSetSchema,
  LeaseViewSchema,
  LivenessSchema,
  ProblemSchema,
  ReadinessSchema,
  RequestableRolesResponseSchema,
  RequestViewSchema,
  SessionRevocationSchema,
  SessionViewSchema,
} from '@leash/contracts';
import { freePort } from '../support/free-port';
import { LeashStack } from '../support/leash-stack';

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;

/**
 * Routes that are not part of the JSON API, so not in the document: the approver console's HTML pages and
 * forms (docs/console.md) and the files of the API reference page.
 */
const NOT_DOCUMENTED = [/^\/console(\/|$)/, /^\/docs\/assets\/\{name\}$/];

type Doc = OpenAPIV3_1.Document;

/** "METHOD /path/{param}" of every operation in the document. */
function documented(doc: Doc): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      if (item?.[method]) {
        out.add(`${method.toUpperCase()} ${path}`);
      }
    }
  }
  return out;
}

/** "METHOD /path/{param}" of every route the API's Fastify registered (from the preloaded route recorder). */
function registered(routesFile: string): string[] {
  const lines = readFileSync(routesFile, 'utf8').split('\n').filter(Boolean);
  const routes = new Set(lines.map((l) => l.replace(/\/:([A-Za-z0-9_]+)/g, '/{$1}')));
  // Fastify adds HEAD to every GET route by itself (exposeHeadRoutes); it answers like the GET.
  return [...routes].filter((r) => !(r.startsWith('HEAD ') && routes.has(r.replace(/^HEAD /, 'GET '))));
}

describe('OpenAPI: a document tools accept, covering every route, and a reference page without a CDN', () => {
  let stack: LeashStack;
  let doc: Doc;
  let routesFile: string;
  const dir = mkdtempSync(join(tmpdir(), 'leash-openapi-'));

  beforeAll(async () => {
    routesFile = join(dir, 'routes.txt');
    writeFileSync(routesFile, '');
    stack = await LeashStack.start({
      name: 'openapi',
      worker: false,
      env: {
        NODE_OPTIONS: `--require ${join(ROOT, 'test', 'support', 'route-recorder.js')}`,
        LEASH_TEST_ROUTES_FILE: routesFile,
        // Slack configured, so its interactivity route exists and must be documented too (nothing is sent).
        LEASH_SLACK_BOT_TOKEN: `xoxb-${randomBytes(12).toString('hex')}`,
        LEASH_SLACK_SIGNING_SECRET: randomBytes(16).toString('hex'),
        LEASH_SLACK_CHANNEL: '#leash-approvals',
        LEASH_SLACK_API_URL: `http://127.0.0.1:${await freePort()}/api/`,
      },
    });
    const res = await stack.call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body as Doc;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('is an OpenAPI 3.1 document that @apidevtools/swagger-parser validates', async () => {
    expect(doc.openapi).toBe('3.1.0');
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeDefined();
  });

  it('passes `redocly lint` (recommended rules, repo config) without errors or warnings', async () => {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const bin = join(ROOT, 'node_modules', '.bin', 'redocly');
    const result = await run(bin, ['lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format', 'json'], {
      env: { PATH: process.env.PATH, HOME: dir, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '' }));
    const report = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; message: string; location: { pointer: string }[] }[];
    };
    // The metrics listener (a separate port) answers GET /metrics with 200 or 503 only.
    const unexpected = report.problems.filter(
      (p) => !(p.ruleId === 'operation-4xx-response' && p.location[0]?.pointer === '#/paths/~1metrics/get/responses'),
    );
    expect(unexpected.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).toEqual([]);
    expect(report.totals.errors).toBe(0);
  });

  it('documents every route the API registered (only console pages and reference assets excepted)', () => {
    const routes = registered(routesFile);
    // The recorder saw the app's routes (a broken preload would make this test pass vacuously).
    expect(routes).toEqual(expect.arrayContaining(['POST /v1/requests', 'POST /slack/interactions', 'GET /console']));
    const ops = documented(doc);
    const missing = routes.filter((r) => !ops.has(r) && !NOT_DOCUMENTED.some((re) => re.test(r.split(' ')[1])));
    expect(missing).toEqual([]);
  });

  it('documents only routes that exist (GET /metrics on the metrics listener)', async () => {
    const routes = new Set(registered(routesFile));
    const extra = [...documented(doc)].filter((op) => !routes.has(op));
    expect(extra).toEqual(['GET /metrics']);
    const metricsServer = doc.paths?.['/metrics']?.servers?.[0]?.url;
    expect(`${metricsServer}/metrics`).toBe(stack.metricsUrl);
    expect((await fetch(stack.metricsUrl)).status).toBe(200);
  });

  it('declares security schemes and applies them per operation; errors are problem+json with the shared schema', () => {
    expect(Object.keys(doc.components?.securitySchemes ?? {}).sort()).toEqual([
      'bearer',
      'clientSecretBasic',
      'slackSignature',
    ]);
    const publicOps: string[] = [];
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      for (const method of METHODS) {
        const operation = item?.[method];
        if (!operation) {
          continue;
        }
        expect({ op: `${method} ${path}`, security: Array.isArray(operation.security) }).toEqual({
          op: `${method} ${path}`,
          security: true,
        });
        if (operation.security?.length === 0) {
          publicOps.push(`${method.toUpperCase()} ${path}`);
        }
        for (const [status, response] of Object.entries(operation.responses ?? {})) {
          const content = (response as OpenAPIV3_1.ResponseObject).content ?? {};
          // Introspection refusals are OAuth errors (RFC 6749 §5.2); readiness answers 503 with its checks.
          if (Number(status) >= 400 && path !== '/v1/introspect' && `${path} ${status}` !== '/readyz 503') {
            expect({ at: `${method} ${path} ${status}`, schema: content['application/problem+json']?.schema }).toEqual({
              at: `${method} ${path} ${status}`,
              schema: { $ref: '#/components/schemas/Problem' },
            });
          }
        }
      }
    }
    expect(publicOps.sort()).toEqual([
      'GET /.well-known/jwks.json',
      'GET /docs',
      'GET /healthz',
      'GET /metrics',
      'GET /openapi.json',
      'GET /readyz',
      'POST /v1/dev/tokens',
    ]);
    // RFC 7662 introspection: form body, client_secret_basic or bearer, 401 with WWW-Authenticate, 403.
    const introspect = doc.paths?.['/v1/introspect']?.post;
    expect(introspect?.security).toEqual([{ clientSecretBasic: [] }, { bearer: [] }]);
    expect(Object.keys((introspect?.requestBody as OpenAPIV3_1.RequestBodyObject).content)).toContain(
      'application/x-www-form-urlencoded',
    );
    const unauthorized = introspect?.responses?.['401'] as OpenAPIV3_1.ResponseObject;
    expect(Object.keys(unauthorized.headers ?? {})).toContain('www-authenticate');
    expect(introspect?.responses?.['403']).toBeDefined();
  });

  it('describes answers the API really gives (a problem, introspection refused)', async () => {
    const problem = await stack.call('GET', '/v1/requests/req-aaaaaaaaaaaaaaaaaaaa');
    expect(problem.status).toBe(401);
    expect(problem.headers.get('content-type')).toContain('application/problem+json');
    const schema = doc.components?.schemas?.Problem ?? {};
    expect(Object.keys(problem.body as object)).toEqual(expect.arrayContaining(schema.required ?? ['missing']));
    const refused = await stack.call('POST', '/v1/introspect', { body: { token: 'x' } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/Basic/);
  });

  it('its schemas accept the answers the API gives (the same zod contracts the document is generated from)', async () => {
    const agent = await stack.devToken({ subject: 'agent-openapi' });
    const admin = await stack.devToken({ subject: 'admin' });
    const conforms = (schema: z.ZodType, res: { status: number; body: unknown }, status: number): void => {
      expect(res.status).toBe(status);
      const parsed = schema.safeParse(res.body);
      expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    };
    const session = await stack.call('POST', '/v1/sessions', { token: agent, body: { id: 'openapi-1' } });
    conforms(SessionViewSchema, session, 201);
    const created = await stack.call('POST', '/v1/requests', {
      token: agent,
      body: {
        role: 'demo-staging-read',
        environment: 'staging',
        reason: 'openapi conformance',
        session: { id: 'openapi-1' },
      },
    });
    conforms(RequestViewSchema, created, 201);
    const claim = await stack.call('POST', `/v1/requests/${created.body.id}/credentials`, { token: agent });
    conforms(ClaimResponseSchema, claim, 201);
    conforms(IntrospectionResponseSchema, await stack.introspect(claim.body.credential.token as string), 200);
    conforms(LeaseViewSchema, await stack.call('GET', `/v1/leases/${claim.body.lease.id}`, { token: agent }), 200);
    conforms(
      z.object({ leases: z.array(LeaseViewSchema) }),
      await stack.call('GET', '/v1/leases', { token: agent }),
      200,
    );
    conforms(RequestableRolesResponseSchema, await stack.call('GET', '/v1/roles', { token: agent }), 200);
    conforms(SessionRevocationSchema, await stack.call('DELETE', '/v1/sessions/openapi-1', { token: agent }), 200);
    conforms(AuditPageSchema, await stack.call('GET', '/v1/audit?limit=50', { token: admin }), 200);
    conforms(AuditCheckpointSchema, await stack.call('POST', '/v1/audit/checkpoints', { token: admin }), 201);
    conforms(AuditCheckpointListSchema, await stack.call('GET', '/v1/audit/checkpoints', { token: admin }), 200);
    conforms(AuditVerificationSchema, await stack.call('GET', '/v1/audit/verify', { token: admin }), 200);
    conforms(AuditSinkListSchema, await stack.call('GET', '/v1/audit/sinks', { token: admin }), 200);
    conforms(JwkSetSchema, await stack.call('GET', '/.well-known/jwks.json'), 200);
    conforms(LivenessSchema, await stack.call('GET', '/healthz'), 200);
    conforms(ReadinessSchema, await stack.call('GET', '/readyz'), 200);
    conforms(ProblemSchema, await stack.call('GET', '/v1/leases/lease-aaaaaaaaaaaaaaaaaaaa', { token: agent }), 404);
    conforms(ProblemSchema, await stack.call('POST', '/v1/requests', { token: agent, body: { role: 1 } }), 400);
  });

  it('answers generated asset names and query strings of /docs and /openapi.json with 200 or a 4xx problem, never 5xx', async () => {
    const ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'init.js']);
    const name = fc.oneof(
      fc.string({ maxLength: 300 }).map((v) => encodeURIComponent(v)),
      fc.constantFrom(
        '..%2F..%2Fpackage.json',
        '..%2Fopenapi.ts',
        'index.html',
        '%00',
        '%zz',
        'swagger-ui.css%00',
        '__proto__',
      ),
    );
    await fc.assert(
      fc.asyncProperty(name, fc.string({ maxLength: 100 }), async (asset, query) => {
        const res = await stack.call('GET', `/docs/assets/${asset}`);
        const decoded = (() => {
          try {
            return decodeURIComponent(asset);
          } catch {
            return undefined;
          }
        })();
        if (decoded !== undefined && ASSETS.has(decoded)) {
          expect(res.status).toBe(200);
        } else {
          expect([400, 404, 414]).toContain(res.status);
          expect(res.headers.get('content-type')).toContain('application/problem+json');
        }
        for (const path of ['/openapi.json', '/docs']) {
          const page = await stack.call('GET', `${path}?${encodeURIComponent(query)}`);
          expect(page.status).toBe(200);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('leaks no secret into logs or Redis', async () => {
    expect(await stack.leakedSecrets()).toEqual([]);
  });

  describe('GET /docs in headless Chromium', () => {
    const HOST = 'leash-docs.test';
    let browser: Browser;

    beforeAll(async () => {
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
          // A name that is not loopback-looking: Swagger UI skips some external calls (validator badge) for localhost.
          `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
        ],
      });
    });

    afterAll(async () => {
      await browser?.close();
    });

    it('renders every operation from local files only, with no external request and no CSP violation', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const requests: string[] = [];
      const violations: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) {
          violations.push(m.text());
        }
      });
      const origin = `http://${HOST}:${new URL(stack.url).port}`;
      try {
        const res = await page.goto(`${origin}/docs`);
        expect(res?.status()).toBe(200);
        expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
        await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
        const paths = await page.locator('.opblock-summary-path').allTextContents();
        expect(new Set(paths.map((p) => p.replace(/\u200b/g, '').trim()))).toEqual(
          new Set(Object.keys(doc.paths ?? {})),
        );
        expect(await page.locator('.swagger-ui .info .title').textContent()).toContain('Leash API');
        expect(requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'))).toEqual([]);
        expect(requests).toContain(`${origin}/openapi.json`);
        expect(violations).toEqual([]);
      } finally {
        await context.close();
      }
    });
  });
});
