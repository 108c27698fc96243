import { z } from 'zod';
import { RequestContextSchema, RiskSchema } from './requests.schema';

const text = (max: number) => z.string().min(1).max(max);

export const ExplainPolicySchema = z
  .strictObject({
    principal: z.strictObject({
      sub: text(256),
      owner: text(256).optional(),
      email: text(256).optional(),
      groups: z.array(text(128)).max(64).default([]),
      amr: z.array(text(32)).max(16).optional(),
    }),
    role: text(128),
    environment: text(128),
    ttlSeconds: z.number().int().positive().max(604800).optional(),
    context: RequestContextSchema.optional(),
  })
  .meta({ id: 'ExplainPolicyRequest' });
export type ExplainPolicyBody = z.infer<typeof ExplainPolicySchema>;

export const ApprovalRuleViewSchema = z.union([
  z.object({ kind: z.literal('auto'), claimWindowSeconds: z.number(), budgetPerHour: z.number().optional() }),
  z.object({
    kind: z.literal('quorum'),
    requirements: z.array(z.object({ groups: z.array(z.string()), quorum: z.number() })),
    requireMfa: z.boolean(),
    channels: z.array(z.string()),
    timeoutSeconds: z.number(),
    claimWindowSeconds: z.number(),
  }),
]);

export const ExplainPolicyResponseSchema = z
  .object({
    decision: z.enum(['auto_approved', 'needs_approval', 'denied']),
    risk: RiskSchema.optional(),
    approval: ApprovalRuleViewSchema.optional(),
    ttlSeconds: z.number().optional(),
    matched: z.array(z.string()),
    reasons: z.array(z.string()),
    policyVersion: z.string(),
  })
  .meta({ id: 'ExplainPolicyResponse' });
export type ExplainPolicyResponse = z.infer<typeof ExplainPolicyResponseSchema>;
