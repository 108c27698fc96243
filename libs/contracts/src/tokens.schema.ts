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
