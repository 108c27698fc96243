import { parseDurationSeconds } from '@leash/core';
import { z } from 'zod';

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is not a duration (use 90, 90s, 15m, 1h)`,
    });
    return z.NEVER;
  }
  return seconds;
});

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits and ._- only');

const jwkSchema = z.looseObject({
  kty: z.string(),
  kid: z.string().optional(),
});

export const IssuerSchema = z
  .strictObject({
    name: name,
    issuer: z.string().min(1).optional(),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    jwksUrl: z.string().url().optional(),
    jwks: z.strictObject({ keys: z.array(jwkSchema).min(1) }).optional(),
    /** Trust the broker's built-in development issuer (effective only with LEASH_DEV_ISSUER=true). */
    devIssuer: z.boolean().default(false),
    claims: z
      .strictObject({
        principal: z.string().default('sub'),
        owner: z.string().default('owner'),
        groups: z.string().default('groups'),
        email: z.string().default('email'),
      })
      .default({
        principal: 'sub',
        owner: 'owner',
        groups: 'groups',
        email: 'email',
      }),
  })
  .superRefine((issuer, ctx) => {
    const sources = [issuer.jwksUrl, issuer.jwks, issuer.devIssuer || undefined].filter((s) => s !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'set exactly one of jwksUrl, jwks or devIssuer: true',
      });
    }
    if (!issuer.devIssuer && issuer.issuer === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['issuer'],
        message: 'issuer is required unless devIssuer is true',
      });
    }
  });

export const EnvironmentSchema = z
  .strictObject({
    tier: z.enum(['dev', 'staging', 'production']),
    defaultTtl: duration.optional(),
    maxTtl: duration,
  })
  .superRefine((env, ctx) => {
    if (env.defaultTtl !== undefined && env.defaultTtl > env.maxTtl) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultTtl'],
        message: 'defaultTtl exceeds maxTtl',
      });
    }
  });

/** Slack user id of the same person: a click from this Slack user acts as this member. */
const slackUserId = z
  .string()
  .regex(/^[UW][A-Z0-9]{2,20}$/, 'a Slack user id such as U012AB3CD')
  .optional();

const memberSchema = z.union([
  z.strictObject({ sub: z.string().min(1), slack: slackUserId }),
  z.strictObject({ email: z.string().min(3), slack: slackUserId }),
]);

export const MemberGroupSchema = z.strictObject({
  description: z.string().optional(),
  members: z.array(memberSchema).default([]),
  /** Groups from the identity token that also confer membership. */
  idpGroups: z.array(z.string().min(1)).default([]),
});

const principalMatcher = z.union([
  z.strictObject({ sub: z.string().min(1) }),
  z.strictObject({ group: z.string().min(1) }),
]);

const approvalSchema = z.union([
  z.literal('auto'),
  z.strictObject({
    auto: z.literal(true),
    claimWindow: duration.optional(),
  }),
  z.strictObject({
    groups: z
      .array(
        z.union([
          name,
          z.strictObject({
            group: name,
            quorum: z.number().int().min(1).max(20).default(1),
          }),
        ]),
      )
      .min(1),
    quorum: z.number().int().min(1).max(20).optional(),
    /** Where approvals are accepted (default: everywhere). */
    channels: z
      .array(z.enum(['web', 'slack', 'api']))
      .min(1)
      .optional(),
    timeout: duration.optional(),
    claimWindow: duration.optional(),
  }),
]);

export const RoleSchema = z
  .strictObject({
    id: name,
    description: z.string().max(500).optional(),
    provider: z.enum(['jwt', 'aws', 'gcp', 'kubernetes']),
    settings: z.record(z.string(), z.unknown()).default({}),
    environments: z.array(name).min(1),
    principals: z.array(principalMatcher).min(1),
    privilege: z.enum(['read', 'write', 'admin']).default('read'),
    minTtl: duration.optional(),
    maxTtl: duration,
    approval: approvalSchema,
  })
  .superRefine((role, ctx) => {
    if (role.minTtl !== undefined && role.minTtl > role.maxTtl) {
      ctx.addIssue({
        code: 'custom',
        path: ['minTtl'],
        message: 'minTtl exceeds maxTtl',
      });
    }
  });

export const PolicySchema = z
  .strictObject({
    version: z.union([z.string(), z.number()]).optional(),
    issuers: z.array(IssuerSchema).min(1),
    environments: z.record(name, EnvironmentSchema),
    approverGroups: z.record(name, MemberGroupSchema).default({}),
    admins: MemberGroupSchema.default({ members: [], idpGroups: [] }),
    defaults: z
      .strictObject({
        approvalTimeout: duration.default(900),
        claimWindow: duration.default(600),
      })
      .default({ approvalTimeout: 900, claimWindow: 600 }),
    roles: z.array(RoleSchema).min(1),
  })
  .superRefine((policy, ctx) => {
    const seen = new Set<string>();
    policy.roles.forEach((role, index) => {
      if (seen.has(role.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['roles', index, 'id'],
          message: `duplicate role id "${role.id}"`,
        });
      }
      seen.add(role.id);
      role.environments.forEach((env, envIndex) => {
        if (!(env in policy.environments)) {
          ctx.addIssue({
            code: 'custom',
            path: ['roles', index, 'environments', envIndex],
            message: `unknown environment "${env}"`,
          });
        }
      });
      if (typeof role.approval === 'object' && 'groups' in role.approval) {
        role.approval.groups.forEach((g, gi) => {
          const group = typeof g === 'string' ? g : g.group;
          if (!(group in policy.approverGroups)) {
            ctx.addIssue({
              code: 'custom',
              path: ['roles', index, 'approval', 'groups', gi],
              message: `unknown approver group "${group}"`,
            });
          }
        });
      }
    });
  });

export type PolicyDocument = z.infer<typeof PolicySchema>;
export type RoleDefinition = z.infer<typeof RoleSchema>;
export type IssuerDefinition = z.infer<typeof IssuerSchema>;
export type EnvironmentDefinition = z.infer<typeof EnvironmentSchema>;
export type MemberGroup = z.infer<typeof MemberGroupSchema>;
