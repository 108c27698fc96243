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

/** One event of the hash-chained audit trail (`GET /v1/audit`). */
export const AuditEventSchema = z
  .object({
    seq: z.number().int().positive(),
    time: z.string(),
    actor: z.object({ id: z.string(), channel: z.string() }),
    action: z.string().meta({ example: 'lease.revoked' }),
    requestId: z.string().optional(),
    leaseId: z.string().optional(),
    sessionId: z.string().optional(),
    role: z.string().optional(),
    environment: z.string().optional(),
    decision: z.string().optional(),
    risk: z.string().optional(),
    policyVersion: z.string().optional(),
    provider: z.string().optional(),
    providerRef: z.record(z.string(), z.string()).optional(),
    /** An event about many leases (break glass: one `lease.revoked` per batch) names each; filters look into it. */
    leases: z
      .array(
        z.object({
          leaseId: z.string(),
          requestId: z.string(),
          sessionId: z.string().optional(),
          principal: z.string(),
          role: z.string(),
          environment: z.string(),
          provider: z.string(),
          providerRef: z.record(z.string(), z.string()).optional(),
        }),
      )
      .optional(),
    details: z.record(z.string(), z.unknown()).optional(),
    prevHash: z.string(),
    hash: z.string(),
  })
  .meta({ id: 'AuditEvent' });

export const AuditPageSchema = z
  .object({
    events: z.array(AuditEventSchema),
    /** Pass as `cursor` for the next page; absent at the end of the log. */
    nextCursor: z.number().int().optional(),
  })
  .meta({ id: 'AuditPage' });

const chainPoint = z.object({ seq: z.number().int(), hash: z.string() });

/** `GET /v1/audit/verify`: 200 whether or not the chain verifies; `ok` says which, `broken` where. */
export const AuditVerificationSchema = z
  .object({
    ok: z.boolean(),
    count: z.number().int(),
    start: z.object({ seq: z.number().int(), prevHash: z.string() }).optional(),
    head: chainPoint.optional(),
    anchor: chainPoint.optional(),
    checkpoints: z.array(z.object({ seq: z.number().int(), status: z.enum(['matched', 'before_start']) })),
    broken: z
      .object({ index: z.number().int(), seq: z.number().int().nullable(), reason: z.string(), detail: z.string() })
      .optional(),
  })
  .meta({ id: 'AuditVerification' });

export const AuditCheckpointListSchema = z
  .object({ checkpoints: z.array(AuditCheckpointSchema.meta({ id: 'AuditCheckpoint' })) })
  .meta({ id: 'AuditCheckpoints' });

/** `GET /v1/audit/sinks`: each export sink's acknowledged position, backlog and dead letters. */
export const AuditSinkListSchema = z
  .object({
    sinks: z.array(
      z.object({
        name: z.string(),
        ackedSeq: z.number().int(),
        backlog: z.number().int(),
        pausedUntil: z.string().optional(),
        deadLetters: z.array(
          z.object({
            id: z.string(),
            sink: z.string(),
            fromSeq: z.number().int(),
            toSeq: z.number().int(),
            attempts: z.number().int(),
            error: z.string(),
            firstFailedAt: z.string(),
            lastFailedAt: z.string(),
          }),
        ),
      }),
    ),
  })
  .meta({ id: 'AuditSinks' });
