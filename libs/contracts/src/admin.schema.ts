import { z } from 'zod';

const selectorText = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@/+-]+$/, 'letters, digits and ._:@/+- only');

/** Break glass: every unrevoked lease matching all given fields is revoked at once. */
export const BreakGlassSchema = z
  .strictObject({
    environment: selectorText.optional(),
    role: selectorText.optional(),
    principal: selectorText.optional(),
    /** Why; recorded in the audit trail. */
    reason: z.string().trim().min(1).max(2000).optional(),
  })
  .refine((b) => b.environment !== undefined || b.role !== undefined || b.principal !== undefined, {
    message: 'name at least one of environment, role, principal (an empty selector would match everything)',
  })
  .meta({ id: 'BreakGlass' });
export type BreakGlassBody = z.infer<typeof BreakGlassSchema>;

export const BreakGlassResultSchema = z
  .object({
    /** This break glass run (`details.breakGlass` of its audit events). */
    id: z.string(),
    selector: z.object({
      environment: z.string().optional(),
      role: z.string().optional(),
      principal: z.string().optional(),
    }),
    /** When it started (ISO 8601): the lower bound for paging its `lease.revoked` audit events. */
    startedAt: z.string(),
    /** Leases revoked now (the first 1,000; `counts.revokedLeases` says how many in all). */
    revokedLeases: z.array(z.string()),
    /** Leases whose provider refused for now; the worker keeps retrying them (the first 1,000). */
    pendingLeases: z.array(z.string()),
    /** Pending or approved-but-unclaimed requests cancelled so nothing new is issued from them (the first 1,000). */
    cancelledRequests: z.array(z.string()),
    /** How many of each there are in all; the id lists above are bounded. */
    counts: z.object({
      revokedLeases: z.number().int(),
      pendingLeases: z.number().int(),
      cancelledRequests: z.number().int(),
    }),
    /** True when a list above names fewer ids than its count (page the rest from the audit log). */
    truncated: z.boolean(),
    /**
     * What providers did beyond one lease: `cut_off` (e.g. an AWS role's aws:TokenIssueTime cut-off covering
     * `leases`), or `unrecallable` (credentials the provider cannot recall, e.g. GCP access tokens: the leases
     * ended, the credentials expire by themselves).
     */
    measures: z.array(
      z.object({
        provider: z.string(),
        kind: z.enum(['cut_off', 'unrecallable']),
        leases: z.number(),
        note: z.string(),
      }),
    ),
    /** Selector values the current policy does not know (leases of removed roles still match). */
    warnings: z.array(z.string()),
  })
  .meta({ id: 'BreakGlassResult' });
export type BreakGlassResult = z.infer<typeof BreakGlassResultSchema>;
