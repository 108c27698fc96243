import { z } from 'zod';
import type { ZodOpenApiPathsObject, ZodOpenApiResponseObject } from 'zod-openapi';
import {
  DevTokenResponseSchema,
  DevTokenSchema,
  IntrospectionResponseSchema,
  IntrospectSchema,
  JwkSetSchema,
  LivenessSchema,
  OAuthErrorSchema,
  ProblemSchema,
  ReadinessSchema,
} from '@leash/contracts';
import { BEARER, json, op, problem, problems, PUBLIC } from './openapi.parts';

// Every route answers an over-long URL with 414 before routing.
const tooLong = { 414: problem(414) };

const noStore = z.object({
  'cache-control': z.literal('no-store').meta({ description: 'RFC 7662 §2.2: never cached' }),
});

function oauthError(description: string, challenge: boolean): ZodOpenApiResponseObject {
  return {
    description,
    headers: challenge
      ? noStore.extend({
          'www-authenticate': z
            .string()
            .meta({ description: 'The schemes to authenticate with', example: 'Basic realm="leash-introspection"' }),
        })
      : noStore,
    content: { 'application/json': { schema: OAuthErrorSchema } },
  };
}

/** Public keys and RFC 7662 introspection for resource servers. */
export function tokenPaths(): ZodOpenApiPathsObject {
  return {
    '/.well-known/jwks.json': {
      get: op('tokens', 'getJwks', 'Public keys of broker-issued JWTs', {
        security: PUBLIC,
        responses: { 200: json(JwkSetSchema, 'The JWK set (empty when the jwt provider is off)'), ...tooLong },
      }),
    },
    '/v1/introspect': {
      post: op('tokens', 'introspectToken', 'RFC 7662 token introspection (resource servers)', {
        description:
          "Only for callers the policy's `introspection` admits: HTTP Basic client credentials (client_secret_basic) of `introspection.clients`, or the bearer identity token of a member of an `introspection.groups` group. Rate-limited per caller.",
        security: [{ clientSecretBasic: [] }, ...BEARER],
        requestBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': { schema: IntrospectSchema },
            'application/json': { schema: IntrospectSchema },
          },
        },
        responses: {
          200: {
            ...json(IntrospectionResponseSchema, "`{active: false}` or the live token's claims"),
            headers: noStore,
          },
          400: {
            description: 'Invalid form (problem) or an OAuth invalid_request',
            content: {
              'application/problem+json': { schema: ProblemSchema },
              'application/json': { schema: OAuthErrorSchema },
            },
          },
          401: oauthError('No or bad client authentication (`invalid_client` / `invalid_token`)', true),
          403: oauthError('Authenticated, but not an introspection client of the policy (`insufficient_scope`)', true),
          413: problem(413),
          415: problem(415),
          429: problem(429),
          503: problem(503),
        },
      }),
    },
  };
}

/** Liveness, readiness and this document. */
export function operatorPaths(): ZodOpenApiPathsObject {
  return {
    '/healthz': {
      get: op('operations', 'liveness', 'Liveness: the process is serving', {
        security: PUBLIC,
        responses: { 200: json(LivenessSchema, 'Serving'), ...tooLong },
      }),
    },
    '/readyz': {
      get: op('operations', 'readiness', 'Readiness: Redis, the revocation queue, the policy and the store checks', {
        description: 'Provider health is reported but does not gate readiness. 503 during SIGTERM drain.',
        security: PUBLIC,
        responses: {
          200: json(ReadinessSchema, 'Ready'),
          503: {
            ...json(ReadinessSchema, 'Not ready; the failing checks are named'),
            headers: z.object({ 'retry-after': z.string() }),
          },
          ...tooLong,
        },
      }),
    },
    '/openapi.json': {
      get: op('operations', 'getOpenApi', 'This OpenAPI 3.1 document', {
        security: PUBLIC,
        responses: {
          200: { description: 'The document', content: { 'application/json': { schema: { type: 'object' } } } },
          ...tooLong,
        },
      }),
    },
    '/docs': {
      get: op('operations', 'getApiReference', 'Browsable API reference of this document (HTML)', {
        security: PUBLIC,
        responses: {
          200: { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } },
          ...tooLong,
        },
      }),
    },
  };
}

/** `POST /v1/dev/tokens`: only with LEASH_DEV_ISSUER=true. */
export function devIssuerPaths(): ZodOpenApiPathsObject {
  return {
    '/v1/dev/tokens': {
      post: op('development', 'mintDevToken', 'Development identity token (demo only)', {
        description: 'Exists only with LEASH_DEV_ISSUER=true; never enable it in production. Rate-limited per address.',
        security: PUBLIC,
        requestBody: { required: true, content: { 'application/json': { schema: DevTokenSchema } } },
        responses: { 201: json(DevTokenResponseSchema, 'A signed identity token'), ...problems(409, 413, 415) },
      }),
    },
  };
}

/** `POST /slack/interactions`: only when Slack is configured. */
export function slackPaths(): ZodOpenApiPathsObject {
  return {
    '/slack/interactions': {
      post: op('slack', 'slackInteraction', 'Slack interactivity callback (approve/deny buttons, deny modal)', {
        description:
          'Verifies the signed callback (signature and a timestamp no older than 5 minutes, each callback once), answers at once and acts on it afterwards.',
        security: [{ slackSignature: [] }],
        requestParams: {
          header: z.object({ 'x-slack-request-timestamp': z.string().regex(/^\d{1,12}$/) }),
        },
        requestBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': {
              schema: z.object({ payload: z.string().meta({ description: 'The interaction as JSON' }) }),
            },
          },
        },
        responses: { 200: { description: 'Accepted' }, ...problems(409, 413, 415) },
      }),
    },
  };
}
