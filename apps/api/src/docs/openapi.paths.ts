import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import {
  AuditCheckpointListSchema,
  AuditCheckpointSchema,
  AuditPageSchema,
  AuditSinkListSchema,
  AuditVerificationSchema,
  BreakGlassResultSchema,
  BreakGlassSchema,
  ClaimResponseSchema,
  CreateRequestSchema,
  DecisionSchema,
  ExplainPolicyResponseSchema,
  ExplainPolicySchema,
  GetRequestQuerySchema,
  LeaseViewSchema,
  ListAuditQuerySchema,
  ListCheckpointsQuerySchema,
  ListLeasesQuerySchema,
  RegisterSessionSchema,
  RequestableRolesResponseSchema,
  RequestViewSchema,
  SessionEventSchema,
  SessionEventsQuerySchema,
  SessionEventViewSchema,
  SessionRevocationSchema,
  SessionViewSchema,
} from '@leash/contracts';
import { BEARER, body, json, op, params, problems } from './openapi.parts';

const LeaseListSchema = z
  .object({
    leases: z.array(LeaseViewSchema),
    /** Pass as `cursor` (same filters) for the next page; absent on the last one. */
    next: z.string().optional(),
  })
  .meta({ id: 'LeaseList' });
const SessionEventListSchema = z.object({ events: z.array(SessionEventViewSchema) }).meta({ id: 'SessionEventList' });

/** Requests and their credentials: the agent's loop. */
export function requestPaths(): ZodOpenApiPathsObject {
  return {
    '/v1/requests': {
      post: op('requests', 'createRequest', 'Request a role in an environment', {
        description: 'The policy decides at once: auto-approved, needs approval (approvalUrl), or 403 policy-denied.',
        security: BEARER,
        ...params({ idempotent: true }),
        requestBody: body(CreateRequestSchema),
        responses: { 201: json(RequestViewSchema, 'The request'), ...problems(403, 413, 415) },
      }),
    },
    '/v1/requests/{id}': {
      get: op('requests', 'getRequest', 'Read a request', {
        description: 'With `waitSeconds`, holds the answer (at most 60 s) while the request is pending.',
        security: BEARER,
        ...params({ id: 'leash', query: GetRequestQuerySchema }),
        responses: { 200: json(RequestViewSchema, 'The request'), ...problems(403, 404) },
      }),
      delete: op('requests', 'cancelRequest', 'Cancel a pending or unclaimed request', {
        security: BEARER,
        ...params({ id: 'leash', idempotent: true }),
        responses: { 200: json(RequestViewSchema, 'The cancelled request'), ...problems(403, 404, 409) },
      }),
    },
    '/v1/requests/{id}/approve': {
      post: op('requests', 'approveRequest', 'Approve (approvers)', {
        description: 'Binds to the request digest; `ttlSeconds` narrows the request (earlier approvals stop counting).',
        security: BEARER,
        ...params({ id: 'leash', idempotent: true }),
        requestBody: body(DecisionSchema, false),
        responses: { 200: json(RequestViewSchema, 'The decision was recorded'), ...problems(403, 404, 409) },
      }),
    },
    '/v1/requests/{id}/deny': {
      post: op('requests', 'denyRequest', 'Deny (approvers)', {
        security: BEARER,
        ...params({ id: 'leash', idempotent: true }),
        requestBody: body(DecisionSchema, false),
        responses: { 200: json(RequestViewSchema, 'The request is denied'), ...problems(403, 404, 409) },
      }),
    },
    '/v1/requests/{id}/credentials': {
      post: op('requests', 'claimCredential', 'Claim the credential (once)', {
        description:
          'Only the requester, once; a second claim is 409 already-claimed. While another attempt holds the claim it is ' +
          '409 claim-in-progress with Retry-After: an attempt that died (API crash) is recovered by the reconciler and ' +
          'the request can then be claimed again. The credential is never stored.',
        security: BEARER,
        ...params({ id: 'leash', idempotent: true }),
        responses: { 201: json(ClaimResponseSchema, 'The lease and its credential'), ...problems(403, 404, 409) },
      }),
    },
    '/v1/leases': {
      get: op('leases', 'listLeases', 'List leases', {
        description:
          'Requesters see their own leases; approvers and admins more. Paged: pass `next` as `cursor` (same filters) ' +
          'until it is absent. Each call reads at most 1,000 index entries, so with filters a page may hold fewer ' +
          'than `limit` leases (even none) and still have a `next`. Order, newest first: by recording order; with ' +
          '`state=active|revoking` by expiry; with `state=revocation_failed` by next retry; with `session` or a ' +
          "requester's own listing, by recording order.",
        security: BEARER,
        ...params({ query: ListLeasesQuerySchema }),
        responses: { 200: json(LeaseListSchema, 'One page of leases, newest first'), ...problems() },
      }),
    },
    '/v1/leases/{id}': {
      get: op('leases', 'getLease', 'Read a lease', {
        security: BEARER,
        ...params({ id: 'leash' }),
        responses: {
          200: json(LeaseViewSchema, 'The lease (fingerprint only, never the secret)'),
          ...problems(403, 404),
        },
      }),
      delete: op('leases', 'revokeLease', 'Revoke a lease now', {
        security: BEARER,
        ...params({ id: 'leash' }),
        responses: {
          200: json(LeaseViewSchema, 'Revoked'),
          202: json(LeaseViewSchema, 'The provider refused for now; the worker keeps retrying'),
          ...problems(403, 404, 409),
        },
      }),
    },
  };
}

/** Agent sessions, requestable roles, policy explanation, break glass. */
export function sessionAndAdminPaths(): ZodOpenApiPathsObject {
  return {
    '/v1/sessions': {
      post: op('sessions', 'registerSession', 'Register an agent session with an idle limit', {
        security: BEARER,
        ...params({ idempotent: true }),
        requestBody: body(RegisterSessionSchema),
        responses: {
          201: json(SessionViewSchema, 'The session'),
          ...problems(403, 409, 413, 415),
        },
      }),
    },
    '/v1/sessions/{id}/heartbeat': {
      post: op('sessions', 'heartbeatSession', 'Keep an agent session alive', {
        security: BEARER,
        ...params({ id: 'session' }),
        responses: {
          200: json(SessionViewSchema, 'The session with its new idle deadline'),
          ...problems(403, 404, 409),
        },
      }),
    },
    '/v1/sessions/{id}/events': {
      post: op('sessions', 'reportSessionEvent', 'Report what the agent is doing (workflow step, log line)', {
        description:
          "The session's own principal only (an id nobody holds yet becomes the caller's, as with requests); the " +
          'message is redacted before it is stored, audited as `session.event`. Rate-limited per session and per principal; ' +
          '409 once the session has ended.',
        security: BEARER,
        ...params({ id: 'session', idempotent: true }),
        requestBody: body(SessionEventSchema),
        responses: { 201: json(SessionEventViewSchema, 'The stored event'), ...problems(403, 409, 413, 415) },
      }),
      get: op('sessions', 'listSessionEvents', "The session's events, oldest first", {
        description: 'For the requester, approvers of its roles and admins; `after` an event id for the ones since.',
        security: BEARER,
        ...params({ id: 'session', query: SessionEventsQuerySchema }),
        responses: { 200: json(SessionEventListSchema, 'Events'), ...problems(403, 404) },
      }),
    },
    '/v1/sessions/{id}': {
      delete: op('sessions', 'revokeSession', 'End an agent session', {
        description: 'Revokes every lease of the session and cancels its open requests (its requester or admins).',
        security: BEARER,
        ...params({ id: 'session', idempotent: true }),
        responses: { 200: json(SessionRevocationSchema, 'What was revoked and cancelled'), ...problems(403, 404) },
      }),
    },
    '/v1/roles': {
      get: op('roles', 'listRoles', 'The roles and environments the caller may request', {
        description: 'No secrets: environments, approval kind, AWS region, Kubernetes API server and CA.',
        security: BEARER,
        responses: { 200: json(RequestableRolesResponseSchema, 'Requestable roles'), ...problems() },
      }),
    },
    '/v1/policy/explain': {
      post: op('policy', 'explainPolicy', 'What the policy would decide for a hypothetical request (admins)', {
        description: 'Creates nothing.',
        security: BEARER,
        requestBody: body(ExplainPolicySchema),
        responses: { 200: json(ExplainPolicyResponseSchema, 'The decision and why'), ...problems(403, 413, 415) },
      }),
    },
    '/v1/admin/revoke': {
      post: op('admin', 'breakGlass', 'Break glass: revoke every matching lease (admins)', {
        description:
          'Revokes every unrevoked lease matching all given fields and cancels matching pending or approved requests. ' +
          'Works in bounded batches at any number of leases; the answer counts everything and names at most 1,000 ids ' +
          'per list (`truncated`); every revoked lease is a `lease.revoked` audit event with `details.breakGlass` = `id`. ' +
          'A run interrupted by a crash is finished by the reconciler.',
        security: BEARER,
        ...params({ idempotent: true }),
        requestBody: body(BreakGlassSchema),
        responses: {
          200: json(BreakGlassResultSchema, 'What was revoked, retried and cancelled'),
          ...problems(403, 413, 415),
        },
      }),
    },
  };
}

/** The audit trail, its verification, signed checkpoints and export sinks (admins). */
export function auditPaths(): ZodOpenApiPathsObject {
  return {
    '/v1/audit': {
      get: op('audit', 'listAudit', 'Audit events in seq order, filtered', {
        description: 'Follow `nextCursor` with `?cursor=`.',
        security: BEARER,
        ...params({ query: ListAuditQuerySchema }),
        responses: { 200: json(AuditPageSchema, 'A page of events'), ...problems(403) },
      }),
    },
    '/v1/audit/verify': {
      get: op('audit', 'verifyAudit', 'Verify the stored hash chain and every signed checkpoint', {
        description: '200 either way; `ok` says whether the chain verifies and `broken` where it does not.',
        security: BEARER,
        responses: { 200: json(AuditVerificationSchema, 'The verification'), ...problems(403) },
      }),
    },
    '/v1/audit/checkpoints': {
      get: op('audit', 'listCheckpoints', 'Signed checkpoints of the chain head', {
        security: BEARER,
        ...params({ query: ListCheckpointsQuerySchema }),
        responses: { 200: json(AuditCheckpointListSchema, 'Checkpoints, newest first'), ...problems(403) },
      }),
      post: op('audit', 'createCheckpoint', 'Sign the current chain head now', {
        security: BEARER,
        responses: { 201: json(AuditCheckpointSchema, 'The new checkpoint'), ...problems(403, 409) },
      }),
    },
    '/v1/audit/sinks': {
      get: op('audit', 'listAuditSinks', 'Export sinks: acknowledged position, backlog and dead letters', {
        security: BEARER,
        responses: { 200: json(AuditSinkListSchema, 'Every export sink'), ...problems(403) },
      }),
    },
  };
}
