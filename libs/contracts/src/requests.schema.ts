import { z } from 'zod';

const idText = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@/+-]+$/, 'letters, digits and ._:@/+- only');

export const SessionSchema = z.strictObject({
  id: idText,
  agent: z.string().max(128).optional(),
  host: z.string().max(255).optional(),
});

export const RequestContextSchema = z.strictObject({
  plan: z.string().max(65536).optional(),
  ticket: z.string().max(256).optional(),
  command: z.string().max(4096).optional(),
});

export const CreateRequestSchema = z
  .strictObject({
    role: idText,
    environment: idText,
    ttlSeconds: z.number().int().positive().max(604800).optional(),
    reason: z.string().trim().min(1, 'a reason is required').max(2000),
    session: SessionSchema.optional(),
    context: RequestContextSchema.optional(),
  })
  .meta({ id: 'CreateRequest' });
export type CreateRequestBody = z.infer<typeof CreateRequestSchema>;

export const DecisionSchema = z
  .strictObject({
    comment: z.string().max(2000).optional(),
    /** Approve only: narrow the request to this shorter TTL (a new digest; earlier approvals stop counting). */
    ttlSeconds: z.number().int().positive().max(604800).optional(),
  })
  .meta({ id: 'Decision' });
export type DecisionBody = z.infer<typeof DecisionSchema>;

export const GetRequestQuerySchema = z.strictObject({
  waitSeconds: z.coerce.number().int().min(0).max(60).optional(),
});

export const ListLeasesQuerySchema = z.strictObject({
  session: idText.optional(),
  environment: idText.optional(),
  role: idText.optional(),
  state: z.enum(['active', 'revoking', 'revoked', 'revocation_failed']).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  /** `next` of the previous page (opaque), with the same filters. */
  cursor: z
    .string()
    .max(400)
    .regex(/^[A-Za-z0-9_-]+$/, 'a cursor as returned in next')
    .optional(),
});
export type ListLeasesQuery = z.infer<typeof ListLeasesQuerySchema>;

export const IdParamSchema = z.string().regex(/^(req|lease)-[a-z2-7]{20}$/, 'not a Leash id');
export const SessionIdParamSchema = idText;

export const RiskFindingSchema = z.object({
  kind: z.enum(['impact', 'security', 'unknown']),
  weight: z.number(),
  detail: z.string(),
  source: z.string(),
  resource: z.string().optional(),
  line: z.number().int().optional(),
  field: z.enum(['plan', 'command']).optional(),
  production: z.boolean().optional(),
});

export const RiskSchema = z.object({
  level: z.enum(['low', 'medium', 'high', 'critical']),
  reasons: z.array(z.string()),
  findings: z.array(RiskFindingSchema).optional(),
});

export const RequestViewSchema = z
  .object({
    id: z.string(),
    state: z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled', 'issuing', 'issued']),
    decision: z.enum(['auto_approved', 'needs_approval']),
    role: z.string(),
    environment: z.string(),
    ttlSeconds: z.number(),
    reason: z.string(),
    principal: z.string(),
    owner: z.string().optional(),
    session: SessionSchema.optional(),
    context: RequestContextSchema,
    risk: RiskSchema,
    digest: z.string(),
    policyVersion: z.string(),
    createdAt: z.string(),
    expiresAt: z.string(),
    approvalUrl: z.string(),
    approvals: z.array(z.object({ approver: z.string(), channel: z.string(), at: z.string() })),
    quorum: z.object({ satisfied: z.boolean(), progress: z.string() }),
    leaseId: z.string().optional(),
    denial: z.object({ by: z.string(), comment: z.string().optional() }).optional(),
    narrowed: z.object({ fromTtlSeconds: z.number(), by: z.string() }).optional(),
    closedReason: z.string().optional(),
    decisionReasons: z.array(z.string()).optional(),
  })
  .meta({ id: 'AccessRequest' });
export type RequestView = z.infer<typeof RequestViewSchema>;

export const LeaseViewSchema = z
  .object({
    id: z.string(),
    requestId: z.string(),
    state: z.enum(['active', 'revoking', 'revoked', 'revocation_failed']),
    role: z.string(),
    environment: z.string(),
    provider: z.string(),
    principal: z.string(),
    owner: z.string().optional(),
    sessionId: z.string().optional(),
    issuedAt: z.string(),
    expiresAt: z.string(),
    revokedAt: z.string().optional(),
    revokeReason: z.string().optional(),
    fingerprint: z.string(),
    providerRef: z.record(z.string(), z.string()),
    lastError: z.string().optional(),
    /** What an early revocation did at the provider (in the revoke response), e.g. "expires by itself at T". */
    revocation: z
      .object({ effect: z.enum(['recalled', 'denied', 'expires_by_itself', 'expired']), note: z.string().optional() })
      .optional(),
  })
  .meta({ id: 'Lease' });
export type LeaseView = z.infer<typeof LeaseViewSchema>;

export const ClaimResponseSchema = z
  .object({
    lease: LeaseViewSchema,
    credential: z.record(z.string(), z.string()),
  })
  .meta({ id: 'ClaimResponse' });
export type ClaimResponse = z.infer<typeof ClaimResponseSchema>;
