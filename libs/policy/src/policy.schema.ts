// The schema itself lives in @leash/contracts so the CLI can validate offline with the same parser.
export {
  ApprovalSchema,
  AutoApprovalSchema,
  EnvironmentSchema,
  HumanApprovalSchema,
  IssuerSchema,
  MemberGroupSchema,
  PolicySchema,
  RiskRouteSchema,
  RoleSchema,
} from '@leash/contracts';
export type {
  EnvironmentDefinition,
  HumanApproval,
  IssuerDefinition,
  MemberGroup,
  PolicyDocument,
  RiskRoute,
  RoleDefinition,
} from '@leash/contracts';
