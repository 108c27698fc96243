import { z } from 'zod';
import {
  BreakGlassResultSchema,
  BreakGlassSchema,
  ClaimResponseSchema,
  CreateRequestSchema,
  DecisionSchema,
  DevTokenSchema,
  IntrospectSchema,
  LeaseViewSchema,
  RegisterSessionSchema,
  RequestViewSchema,
  RequestableRolesResponseSchema,
} from '@leash/contracts';

const json = (schema: z.ZodType) => ({
  'application/json': {
    schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
  },
});
const out = (schema: z.ZodType) => ({
  'application/json': {
    schema: z.toJSONSchema(schema, { unrepresentable: 'any' }),
  },
});
const problem = {
  description: 'RFC 9457 problem',
  content: { 'application/problem+json': { schema: { type: 'object' } } },
};
const bearer = [{ bearer: [] }];
const idParam = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }];

/** OpenAPI 3.1 document generated from the zod contracts. */
export function buildOpenApi(devIssuer: boolean): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/v1/requests': {
      post: {
        summary: 'Request a role in an environment',
        security: bearer,
        requestBody: { required: true, content: json(CreateRequestSchema) },
        responses: {
          201: { description: 'created', content: out(RequestViewSchema) },
          403: problem,
          400: problem,
        },
      },
    },
    '/v1/requests/{id}': {
      get: {
        summary: 'Read a request; waitSeconds long-polls while it is pending',
        security: bearer,
        parameters: [
          ...idParam,
          {
            name: 'waitSeconds',
            in: 'query',
            schema: { type: 'integer', maximum: 60 },
          },
        ],
        responses: {
          200: { description: 'the request', content: out(RequestViewSchema) },
          404: problem,
        },
      },
      delete: {
        summary: 'Cancel a pending request',
        security: bearer,
        parameters: idParam,
        responses: { 200: { description: 'cancelled' }, 409: problem },
      },
    },
    '/v1/requests/{id}/approve': {
      post: {
        summary: 'Approve',
        security: bearer,
        parameters: idParam,
        requestBody: { content: json(DecisionSchema) },
        responses: {
          200: { description: 'recorded', content: out(RequestViewSchema) },
          403: problem,
          409: problem,
        },
      },
    },
    '/v1/requests/{id}/deny': {
      post: {
        summary: 'Deny',
        security: bearer,
        parameters: idParam,
        requestBody: { content: json(DecisionSchema) },
        responses: {
          200: { description: 'denied', content: out(RequestViewSchema) },
          403: problem,
          409: problem,
        },
      },
    },
    '/v1/requests/{id}/credentials': {
      post: {
        summary: 'Claim the credential (once)',
        security: bearer,
        parameters: idParam,
        responses: {
          201: { description: 'issued', content: out(ClaimResponseSchema) },
          409: problem,
        },
      },
    },
    '/v1/leases': {
      get: {
        summary: 'List leases',
        security: bearer,
        responses: { 200: { description: 'leases' } },
      },
    },
    '/v1/leases/{id}': {
      get: {
        summary: 'Read a lease',
        security: bearer,
        parameters: idParam,
        responses: {
          200: { description: 'lease', content: out(LeaseViewSchema) },
        },
      },
      delete: {
        summary: 'Revoke now',
        security: bearer,
        parameters: idParam,
        responses: {
          200: { description: 'revoked' },
          202: { description: 'revocation retrying' },
        },
      },
    },
    '/v1/roles': {
      get: {
        summary: 'The roles and environments the caller may request (no secrets)',
        security: bearer,
        responses: {
          200: { description: 'requestable roles', content: out(RequestableRolesResponseSchema) },
          401: problem,
        },
      },
    },
    '/v1/sessions': {
      post: {
        summary: 'Register an agent session with an idle limit',
        security: bearer,
        requestBody: { content: json(RegisterSessionSchema) },
        responses: { 201: { description: 'the session' }, 403: { description: 'the id belongs to another principal' } },
      },
    },
    '/v1/sessions/{id}/heartbeat': {
      post: {
        summary: 'Keep an agent session alive',
        security: bearer,
        parameters: idParam,
        responses: {
          200: { description: 'the session with its new idle deadline' },
          409: { description: 'the session ended or went idle' },
        },
      },
    },
    '/v1/sessions/{id}': {
      delete: {
        summary: 'Revoke every lease of an agent session',
        security: bearer,
        parameters: idParam,
        responses: { 200: { description: 'revoked' } },
      },
    },
    '/v1/admin/revoke': {
      post: {
        summary: 'Break glass: revoke every lease matching the selector and cancel matching open requests (admins)',
        security: bearer,
        requestBody: { content: json(BreakGlassSchema) },
        responses: {
          200: { description: 'what was revoked, retried and cancelled', content: out(BreakGlassResultSchema) },
          400: problem,
          403: problem,
        },
      },
    },
    '/v1/introspect': {
      post: {
        summary: 'RFC 7662 introspection',
        requestBody: {
          content: {
            ...json(IntrospectSchema),
            'application/x-www-form-urlencoded': { schema: { type: 'object' } },
          },
        },
        responses: { 200: { description: '{active, ...}' } },
      },
    },
    '/.well-known/jwks.json': {
      get: {
        summary: 'Public keys of broker JWTs',
        responses: { 200: { description: 'JWK set' } },
      },
    },
    '/healthz': {
      get: { summary: 'Liveness', responses: { 200: { description: 'ok' } } },
    },
    '/readyz': {
      get: {
        summary: 'Readiness',
        responses: {
          200: { description: 'ready' },
          503: { description: 'not ready' },
        },
      },
    },
  };
  if (devIssuer) {
    paths['/v1/dev/tokens'] = {
      post: {
        summary: 'Development identity token (demo only)',
        requestBody: { content: json(DevTokenSchema) },
        responses: { 201: { description: '{token}' } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Leash API', version: '1' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      },
    },
    paths,
  };
}
