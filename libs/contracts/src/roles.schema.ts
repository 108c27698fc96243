import { z } from 'zod';

/** Where a role's credential is used, so a client can prepare its tools before asking (no secret). */
export const RoleTargetSchema = z.object({
  /** AWS: the region of the role's STS endpoint. */
  region: z.string().optional(),
  /** Kubernetes: the API server, its CA (base64 PEM) and the lease's namespace. */
  server: z.string().optional(),
  certificateAuthorityData: z.string().optional(),
  namespace: z.string().optional(),
});
export type RoleTarget = z.infer<typeof RoleTargetSchema>;

export const RequestableRoleSchema = z.object({
  id: z.string(),
  description: z.string().optional(),
  provider: z.string(),
  privilege: z.enum(['read', 'write', 'admin']),
  /** The environments this principal may request the role in. */
  environments: z.array(z.string()),
  /** `auto` when the policy approves without a human (before risk routing), else `human`. */
  approval: z.enum(['auto', 'human']),
  maxTtlSeconds: z.number(),
  target: RoleTargetSchema.optional(),
});
export type RequestableRole = z.infer<typeof RequestableRoleSchema>;

/** `GET /v1/roles`: what the caller may ask for, and the policy's environments (names and tiers). */
export const RequestableRolesResponseSchema = z
  .object({
    principal: z.string(),
    policyVersion: z.string(),
    environments: z.array(z.object({ name: z.string(), tier: z.string() })),
    roles: z.array(RequestableRoleSchema),
  })
  .meta({ id: 'RequestableRoles' });
export type RequestableRolesResponse = z.infer<typeof RequestableRolesResponseSchema>;
