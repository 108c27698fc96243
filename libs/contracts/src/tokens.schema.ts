import { z } from 'zod';

export const DevTokenSchema = z
  .strictObject({
    subject: z.string().min(1).max(256),
    owner: z.string().min(1).max(256).optional(),
    email: z.string().email().max(256).optional(),
    groups: z.array(z.string().min(1).max(128)).max(64).default([]),
    ttlSeconds: z.number().int().min(1).max(86400).default(3600),
    amr: z.array(z.string().min(1).max(32)).max(16).optional(),
    authTime: z.number().int().min(0).optional(),
  })
  .meta({ id: 'DevTokenRequest' });
export type DevTokenBody = z.infer<typeof DevTokenSchema>;

export const IntrospectSchema = z
  .strictObject({
    token: z.string().min(1).max(16384),
    token_type_hint: z.string().max(64).optional(),
    // Some RFC 7662 clients repeat their client_id in the form; authentication is the Basic header's.
    client_id: z.string().max(256).optional(),
  })
  .meta({ id: 'IntrospectRequest' });
export type IntrospectBody = z.infer<typeof IntrospectSchema>;

export const DevTokenResponseSchema = z.object({ token: z.string() }).meta({ id: 'DevToken' });

/** RFC 7662 §2.2: `{active: false}` for any token that is not a live broker credential, else its claims. */
export const IntrospectionResponseSchema = z
  .looseObject({
    active: z.boolean(),
    token_type: z.string().optional(),
    iss: z.string().optional(),
    sub: z.string().optional(),
    aud: z.union([z.string(), z.array(z.string())]).optional(),
    scope: z.string().optional(),
    jti: z.string().optional(),
    iat: z.number().int().optional(),
    exp: z.number().int().optional(),
    env: z.string().optional(),
    role: z.string().optional(),
  })
  .meta({ id: 'IntrospectionResponse' });

/** RFC 6749 §5.2 error of the introspection endpoint (401 comes with `WWW-Authenticate`). */
export const OAuthErrorSchema = z
  .object({
    error: z.enum(['invalid_request', 'invalid_client', 'invalid_token', 'insufficient_scope']),
    error_description: z.string().optional(),
  })
  .meta({ id: 'OAuthError' });

/** RFC 7517 JWK set of the broker's public signing keys. */
export const JwkSetSchema = z
  .object({
    keys: z.array(
      z.looseObject({
        kty: z.string(),
        kid: z.string().optional(),
        alg: z.string().optional(),
        use: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'JwkSet' });
