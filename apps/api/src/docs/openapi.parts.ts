import { z } from 'zod';
import type {
  ZodOpenApiOperationObject,
  ZodOpenApiParameters,
  ZodOpenApiRequestBodyObject,
  ZodOpenApiResponseObject,
  ZodOpenApiResponsesObject,
} from 'zod-openapi';
import { IdParamSchema, ProblemSchema, SessionIdParamSchema } from '@leash/contracts';

/** Building blocks of the OpenAPI document: security requirements, parameters, bodies and problem answers. */

export const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'Identity token (JWT) of an issuer the policy trusts (`issuers`); the principal is (issuer, subject).',
  },
  clientSecretBasic: {
    type: 'http',
    scheme: 'basic',
    description:
      "RFC 6749 §2.3.1 client_secret_basic: a client declared under the policy's `introspection.clients` (its secret is stored as a hash).",
  },
  slackSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Slack-Signature',
    description:
      'Slack request signature (`v0=` HMAC-SHA256 of `v0:<X-Slack-Request-Timestamp>:<raw body>` with the signing secret).',
  },
} as const;

export const BEARER = [{ bearer: [] }];
/** No authentication: public keys, liveness, readiness, this document. */
export const PUBLIC: Record<string, string[]>[] = [];

const PROBLEM_TEXT: Record<number, string> = {
  400: 'Invalid input (validation, malformed JSON or a reused Idempotency-Key)',
  401: 'No or an invalid identity token',
  403: 'Authenticated, but the policy does not allow it',
  404: 'Not found, or not visible to the caller',
  409: 'The resource is not in a state that allows this',
  413: 'Body larger than LEASH_BODY_LIMIT_BYTES',
  414: 'URL longer than 8192 bytes',
  415: 'Unsupported content type',
  429: 'Rate limit of the caller exceeded',
  503: 'Redis, the revocation queue or the provider is unavailable (fail closed); retry later',
};

/** An RFC 9457 problem answer with the shared `Problem` schema. */
export function problem(status: number, description = PROBLEM_TEXT[status] ?? 'Problem'): ZodOpenApiResponseObject {
  return { description, content: { 'application/problem+json': { schema: ProblemSchema } } };
}

/** The problem answers every authenticated JSON endpoint can give, plus the listed ones. */
export function problems(...statuses: number[]): ZodOpenApiResponsesObject {
  const out: ZodOpenApiResponsesObject = {};
  for (const status of [...new Set([400, 401, 429, 503, ...statuses])].sort((a, b) => a - b)) {
    out[`${status}` as `4${string}`] = problem(status);
  }
  return out;
}

export function json(schema: z.ZodType, description: string): ZodOpenApiResponseObject {
  return { description, content: { 'application/json': { schema } } };
}

export function body(schema: z.ZodType, required = true): ZodOpenApiRequestBodyObject {
  return { required, content: { 'application/json': { schema } } };
}

const idempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/)
  .optional()
  .meta({
    description:
      'A retry with the same key and body gets the first answer (`idempotent-replayed: true`); the same key with another body is 400. Credentials are never replayed.',
  });

/** Path `{id}` (request or lease id) and, for mutating calls, the Idempotency-Key header. */
export function params(options: { id?: 'leash' | 'session'; idempotent?: boolean; query?: z.ZodObject }): {
  requestParams: ZodOpenApiParameters;
} {
  const requestParams: ZodOpenApiParameters = {};
  if (options.id) {
    requestParams.path = z.object({ id: options.id === 'leash' ? IdParamSchema : SessionIdParamSchema });
  }
  if (options.idempotent) {
    requestParams.header = z.object({ 'idempotency-key': idempotencyKey });
  }
  if (options.query) {
    requestParams.query = options.query;
  }
  return { requestParams };
}

/** An operation with the fields every operation of this document carries. */
export function op(
  tag: string,
  operationId: string,
  summary: string,
  rest: Omit<ZodOpenApiOperationObject, 'tags' | 'operationId' | 'summary'>,
): ZodOpenApiOperationObject {
  return { tags: [tag], operationId, summary, ...rest };
}
