import { z } from 'zod';

/** Stable problem type URIs of the API (RFC 9457). */
export const PROBLEM_BASE = 'https://leash.dev/problems/';

export const ProblemType = {
  Validation: `${PROBLEM_BASE}validation`,
  MalformedJson: `${PROBLEM_BASE}malformed-json`,
  PayloadTooLarge: `${PROBLEM_BASE}payload-too-large`,
  Unauthenticated: `${PROBLEM_BASE}unauthenticated`,
  Forbidden: `${PROBLEM_BASE}forbidden`,
  PolicyDenied: `${PROBLEM_BASE}policy-denied`,
  SelfApproval: `${PROBLEM_BASE}self-approval`,
  NotApprover: `${PROBLEM_BASE}not-approver`,
  MfaRequired: `${PROBLEM_BASE}mfa-required`,
  ChannelNotAllowed: `${PROBLEM_BASE}channel-not-allowed`,
  NotFound: `${PROBLEM_BASE}not-found`,
  Conflict: `${PROBLEM_BASE}conflict`,
  AlreadyClaimed: `${PROBLEM_BASE}already-claimed`,
  ClaimInProgress: `${PROBLEM_BASE}claim-in-progress`,
  NotPending: `${PROBLEM_BASE}not-pending`,
  Expired: `${PROBLEM_BASE}expired`,
  PolicyChanged: `${PROBLEM_BASE}policy-changed`,
  RateLimited: `${PROBLEM_BASE}rate-limited`,
  Unavailable: `${PROBLEM_BASE}unavailable`,
  ProviderFailed: `${PROBLEM_BASE}provider-failed`,
  ProviderUnavailable: `${PROBLEM_BASE}provider-unavailable`,
  Internal: `${PROBLEM_BASE}internal`,
  UnsupportedMediaType: `${PROBLEM_BASE}unsupported-media-type`,
  IdempotencyMismatch: `${PROBLEM_BASE}idempotency-key-reused`,
  BadSignature: `${PROBLEM_BASE}bad-signature`,
  BadRequest: `${PROBLEM_BASE}bad-request`,
  BadUrl: `${PROBLEM_BASE}bad-url`,
  UriTooLong: `${PROBLEM_BASE}uri-too-long`,
  HeadersTooLarge: `${PROBLEM_BASE}headers-too-large`,
  Timeout: `${PROBLEM_BASE}timeout`,
  RevocationPending: `${PROBLEM_BASE}revocation-pending`,
} as const;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  [extension: string]: unknown;
}

/** RFC 9457 problem details, the body of every `application/problem+json` error answer. */
export const ProblemSchema = z
  .looseObject({
    type: z.string().meta({ description: 'Stable problem type URI', example: ProblemType.PolicyDenied }),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string().meta({ description: 'What went wrong, for a human; never a secret or a stack trace' }),
    instance: z.string().optional(),
    reasons: z.array(z.string()).optional().meta({ description: 'Why the policy refused (policy-denied)' }),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .meta({ description: 'Each invalid field (validation), e.g. `body.role`' }),
    retryAfterSeconds: z
      .number()
      .int()
      .optional()
      .meta({ description: 'When to try again (claim-in-progress); also sent as Retry-After' }),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });
