import { z } from 'zod';

const filterText = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@/+-]+$/, 'letters, digits and ._:@/+- only');

const isoTime = z
  .string()
  .max(64)
  .refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO 8601 date-time')
  .transform((v) => new Date(v).toISOString());

/** `GET /v1/audit` filters; `cursor` is the `nextCursor` of the previous page. */
export const ListAuditQuerySchema = z.strictObject({
  from: isoTime.optional(),
  to: isoTime.optional(),
  actor: filterText.optional(),
  session: filterText.optional(),
  request: filterText.optional(),
  lease: filterText.optional(),
  environment: filterText.optional(),
  action: z
    .string()
    .regex(/^[a-z_]+\.[a-z_]+$/, 'an audit action such as lease.revoked')
    .optional(),
  cursor: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
export type ListAuditQuery = z.infer<typeof ListAuditQuerySchema>;

export const ListCheckpointsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/** A checkpoint as published by `GET /v1/audit/checkpoints` and read by `leash audit verify --checkpoint`. */
export const AuditCheckpointSchema = z.object({
  seq: z.number().int().positive(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  time: z.string(),
  kid: z.string(),
  alg: z.string(),
  jws: z.string().max(4096),
});
export type AuditCheckpointView = z.infer<typeof AuditCheckpointSchema>;
