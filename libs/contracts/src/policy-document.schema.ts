import { z } from 'zod';
import { parseDurationSeconds } from '@leash/core';

// The policy file's schema (SPEC §5). It lives in contracts, not libs/policy, because the CLI
// (`leash policy validate`) may import only core and contracts, and must validate offline with
// exactly the parser the broker uses. deploy/policy.schema.json is generated from it.

const duration = z
  .union([
    z.string().regex(/^(\d+|(\d+[smhd])+)$/, 'a duration such as 90, 90s, 15m, 1h, 1h30m'),
    z.number().int().min(0),
  ])
  .transform((value, ctx) => {
    const seconds = parseDurationSeconds(value);
    if (seconds === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (use 90, 90s, 15m, 1h)` });
      return z.NEVER;
    }
    return seconds;
  })
  .meta({ description: 'Seconds, or a duration such as 90s, 15m, 1h, 1h30m' });

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits and ._- only')
  .meta({ description: 'An identifier: letters, digits and ._-' });

const jwkSchema = z.looseObject({ kty: z.string(), kid: z.string().optional() });

export const ClaimMappingSchema = z
  .strictObject({
    principal: z.string().min(1).default('sub').meta({ description: 'Claim holding the principal id' }),
    owner: z.string().min(1).default('owner').meta({ description: 'Claim naming the human who launched the agent' }),
    groups: z.string().min(1).default('groups').meta({ description: 'Claim holding a list of groups' }),
    email: z.string().min(1).default('email'),
    amr: z.string().min(1).default('amr').meta({ description: 'Authentication methods (RFC 8176), for requireMfa' }),
    authTime: z.string().min(1).default('auth_time').meta({ description: 'Time of authentication, for requireMfa' }),
  })
  .meta({ description: 'Which token claims map to the principal' });

export const IssuerSchema = z
  .strictObject({
    name: name,
    issuer: z.string().min(1).optional().meta({ description: 'The `iss` of accepted tokens' }),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
    jwks: z.strictObject({ keys: z.array(jwkSchema).min(1) }).optional(),
    devIssuer: z
      .boolean()
      .default(false)
      .meta({ description: "Trust the broker's development issuer (effective only with LEASH_DEV_ISSUER=true)" }),
    claims: ClaimMappingSchema.default(ClaimMappingSchema.parse({})),
  })
  .superRefine((issuer, ctx) => {
    const sources = [issuer.jwksUrl, issuer.jwks, issuer.devIssuer || undefined].filter((s) => s !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'set exactly one of jwksUrl, jwks or devIssuer: true' });
    }
    if (!issuer.devIssuer && issuer.issuer === undefined) {
      ctx.addIssue({ code: 'custom', path: ['issuer'], message: 'issuer is required unless devIssuer is true' });
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
      ctx.addIssue({ code: 'custom', path: ['defaultTtl'], message: 'defaultTtl exceeds maxTtl' });
    }
  });

const identifier = (description: string, min: number) =>
  z
    .string()
    .max(256)
    .refine((v) => v.trim().length >= min, `at least ${min} characters besides surrounding spaces`)
    .meta({ description });

export const MemberSchema = z
  .strictObject({
    sub: identifier('OIDC subject (of `issuer`)', 1).optional(),
    email: identifier('Email claim (of `issuer`); compared without case and surrounding spaces', 3).optional(),
    slack: z
      .string()
      .regex(/^\s*[UW][A-Z0-9]{2,20}\s*$/, 'a Slack user id such as U012AB3CD')
      .optional()
      .meta({ description: 'Slack user id of the same person (for Slack approvals)' }),
    issuer: name.optional().meta({
      description: 'The `name` of the issuer whose tokens carry this `sub`/`email`; default: the first listed issuer',
    }),
  })
  .refine((m) => m.sub !== undefined || m.email !== undefined || m.slack !== undefined, {
    message: 'a member needs sub, email or slack',
  })
  .meta({ description: 'One person: every identifier it acts by (entries sharing an identifier are one person)' });

export const MemberGroupSchema = z.strictObject({
  description: z.string().optional(),
  members: z.array(MemberSchema).default([]),
  idpGroups: z
    .array(z.string().min(1))
    .default([])
    .meta({ description: 'Groups from the identity token that also confer membership' }),
  idpIssuer: name.optional().meta({
    description: 'The `name` of the issuer whose tokens may confer membership by idpGroups; default: the first listed',
  }),
});

type MemberGroupInput = z.infer<typeof MemberGroupSchema>;

const CHANNELS = ['web', 'slack', 'api'] as const;
export const ApprovalChannelSchema = z.enum(CHANNELS);

const quorumGroup = z.strictObject({
  group: name,
  quorum: z.number().int().min(1).max(20).default(1),
});

const humanRuleShape = {
  groups: z
    .array(z.union([name, quorumGroup]))
    .min(1)
    .meta({ description: 'AND-ed: each entry needs `quorum` distinct approvers from that group' }),
  quorum: z
    .number()
    .int()
    .min(1)
    .max(20)
    .optional()
    .meta({ description: 'Quorum of the plain group names in `groups`, pooled (default 1)' }),
  requireMfa: z.boolean().default(false),
  channels: z.array(ApprovalChannelSchema).min(1).optional().meta({
    description: 'Where approvals are accepted; default web, slack, api (only web with requireMfa)',
  }),
  timeout: duration.optional(),
  claimWindow: duration.optional(),
};

function refineHumanRule(rule: { requireMfa: boolean; channels?: string[] }, ctx: z.RefinementCtx): void {
  if (rule.requireMfa && rule.channels?.includes('slack')) {
    ctx.addIssue({
      code: 'custom',
      path: ['channels'],
      message: 'requireMfa rules cannot accept slack (a Slack click proves no MFA)',
    });
  }
}

export const HumanApprovalSchema = z.strictObject(humanRuleShape).superRefine(refineHumanRule);

export const AutoApprovalSchema = z
  .strictObject({
    auto: z.literal(true),
    claimWindow: duration.optional(),
    budget: z
      .number()
      .int()
      .min(1)
      .max(100000)
      .optional()
      .meta({ description: 'At most this many auto-approved requests per principal and role per hour' }),
    overBudget: HumanApprovalSchema.optional().meta({ description: 'The human rule used once the budget is spent' }),
  })
  .superRefine((rule, ctx) => {
    if (rule.budget !== undefined && rule.overBudget === undefined) {
      ctx.addIssue({ code: 'custom', path: ['overBudget'], message: 'a budget needs an overBudget rule' });
    }
  });

export const ApprovalSchema = z.union([z.literal('auto'), AutoApprovalSchema, HumanApprovalSchema]);

/** Extra requirements added to a request's rule when its risk reaches a level; never weakens. */
export const RiskRouteSchema = z
  .strictObject({
    groups: z.array(z.union([name, quorumGroup])).default([]),
    requireMfa: z.boolean().default(false),
    channels: z.array(ApprovalChannelSchema).min(1).optional(),
    timeout: duration.optional(),
    claimWindow: duration.optional(),
  })
  .superRefine(refineHumanRule);

const glob = z.string().min(1).max(256);
const principalMatcher = z
  .strictObject({
    sub: glob.optional(),
    group: glob.optional(),
    email: glob.optional(),
    owner: glob.optional(),
  })
  .refine((m) => Object.keys(m).length > 0, { message: 'a matcher needs sub, group, email or owner' })
  .meta({ description: 'All given fields must match (globs with * and ?)' });

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
    approval: ApprovalSchema,
  })
  .superRefine((role, ctx) => {
    if (role.minTtl !== undefined && role.minTtl > role.maxTtl) {
      ctx.addIssue({ code: 'custom', path: ['minTtl'], message: 'minTtl exceeds maxTtl' });
    }
  });

const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;

/** A resource server that authenticates to POST /v1/introspect with HTTP Basic (client_secret_basic). */
export const IntrospectionClientSchema = z.strictObject({
  id: name.meta({ description: 'The client_id (letters, digits and ._-)' }),
  secretHash: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 lowercase hex digits> (see docs/policy.md)')
    .meta({ description: 'sha256:<hex of SHA-256 of the secret>; the secret itself is never stored (docs/policy.md)' }),
});

export const IntrospectionSchema = z
  .strictObject({
    groups: z
      .array(name)
      .max(64)
      .default([])
      .meta({ description: 'Approver groups whose members may introspect with their bearer identity token' }),
    clients: z.array(IntrospectionClientSchema).max(256).default([]),
  })
  .meta({ description: 'Who may call POST /v1/introspect (RFC 7662); nobody when empty' });

export const PolicySchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.union([z.string(), z.number()]).optional(),
    issuers: z.array(IssuerSchema).min(1),
    environments: z.record(name, EnvironmentSchema),
    approverGroups: z.record(name, MemberGroupSchema).default({}),
    adminGroup: name.optional().meta({ description: 'The approver group whose members are Leash admins' }),
    consoleIssuer: name.optional().meta({
      description:
        'The `name` of the issuer the web console login counts as when its IdP is none of `issuers` (default: the first)',
    }),
    admins: MemberGroupSchema.optional().meta({ description: 'Additional admins (prefer adminGroup)' }),
    defaults: z
      .strictObject({
        approvalTimeout: duration.default(900),
        claimWindow: duration.default(600),
        mfaMaxAge: duration
          .default(900)
          .meta({ description: 'requireMfa: the approver must have authenticated at most this long ago' }),
      })
      .default({ approvalTimeout: 900, claimWindow: 600, mfaMaxAge: 900 }),
    riskRouting: z
      .partialRecord(z.enum(RISK_LEVELS), RiskRouteSchema)
      .default({})
      .meta({ description: 'Stricter requirements per risk level; every level up to the assessed one applies' }),
    introspection: IntrospectionSchema.default({ groups: [], clients: [] }),
    roles: z.array(RoleSchema).min(1),
  })
  .superRefine((policy, ctx) => {
    const knownGroup = (group: string, path: (string | number)[]): void => {
      if (!(group in policy.approverGroups)) {
        ctx.addIssue({ code: 'custom', path, message: `unknown approver group "${group}"` });
      }
    };
    if (policy.adminGroup !== undefined) {
      knownGroup(policy.adminGroup, ['adminGroup']);
    }
    const issuerNames = new Set<string>();
    policy.issuers.forEach((issuer, index) => {
      if (issuerNames.has(issuer.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['issuers', index, 'name'],
          message: `duplicate issuer "${issuer.name}"`,
        });
      }
      issuerNames.add(issuer.name);
    });
    const knownIssuer = (issuer: string | undefined, path: (string | number)[]): void => {
      if (issuer !== undefined && !issuerNames.has(issuer)) {
        ctx.addIssue({ code: 'custom', path, message: `unknown issuer "${issuer}" (name one of issuers[].name)` });
      }
    };
    knownIssuer(policy.consoleIssuer, ['consoleIssuer']);
    const memberGroups: [(string | number)[], MemberGroupInput][] = [
      ...Object.entries(policy.approverGroups).map(([g, group]): [(string | number)[], MemberGroupInput] => [
        ['approverGroups', g],
        group,
      ]),
      ...(policy.admins ? [[['admins'], policy.admins] as [(string | number)[], MemberGroupInput]] : []),
    ];
    for (const [path, group] of memberGroups) {
      knownIssuer(group.idpIssuer, [...path, 'idpIssuer']);
      group.members.forEach((m, mi) => knownIssuer(m.issuer, [...path, 'members', mi, 'issuer']));
    }
    const checkGroups = (groups: (string | { group: string })[], path: (string | number)[]): void =>
      groups.forEach((g, gi) => knownGroup(typeof g === 'string' ? g : g.group, [...path, gi]));
    policy.introspection.groups.forEach((g, gi) => knownGroup(g, ['introspection', 'groups', gi]));
    const clientIds = new Set<string>();
    policy.introspection.clients.forEach((client, ci) => {
      if (clientIds.has(client.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['introspection', 'clients', ci, 'id'],
          message: `duplicate client "${client.id}"`,
        });
      }
      clientIds.add(client.id);
    });
    for (const [level, route] of Object.entries(policy.riskRouting)) {
      checkGroups(route?.groups ?? [], ['riskRouting', level, 'groups']);
    }
    const seen = new Set<string>();
    policy.roles.forEach((role, index) => {
      if (seen.has(role.id)) {
        ctx.addIssue({ code: 'custom', path: ['roles', index, 'id'], message: `duplicate role id "${role.id}"` });
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
      const approval = role.approval;
      if (typeof approval === 'object' && 'groups' in approval) {
        checkGroups(approval.groups, ['roles', index, 'approval', 'groups']);
      } else if (typeof approval === 'object' && approval.overBudget) {
        checkGroups(approval.overBudget.groups, ['roles', index, 'approval', 'overBudget', 'groups']);
      }
    });
  });

export type PolicyDocument = z.infer<typeof PolicySchema>;
export type RoleDefinition = z.infer<typeof RoleSchema>;
export type IssuerDefinition = z.infer<typeof IssuerSchema>;
export type EnvironmentDefinition = z.infer<typeof EnvironmentSchema>;
export type MemberGroup = z.infer<typeof MemberGroupSchema>;
export type HumanApproval = z.infer<typeof HumanApprovalSchema>;
export type RiskRoute = z.infer<typeof RiskRouteSchema>;
export type IntrospectionPolicy = z.infer<typeof IntrospectionSchema>;
