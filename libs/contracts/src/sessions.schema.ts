import { z } from 'zod';
import { SessionIdParamSchema } from './requests.schema';

export const MIN_IDLE_SECONDS = 2;
export const DEFAULT_IDLE_SECONDS = 120;
export const MAX_IDLE_SECONDS = 86400;

export const RegisterSessionSchema = z
  .strictObject({
    id: SessionIdParamSchema,
    /** Revoke the session's leases when no heartbeat arrives for this long. */
    idleSeconds: z.number().int().min(MIN_IDLE_SECONDS).max(MAX_IDLE_SECONDS).default(DEFAULT_IDLE_SECONDS),
    agent: z.string().max(128).optional(),
    host: z.string().max(255).optional(),
  })
  .meta({ id: 'RegisterSession' });
export type RegisterSessionBody = z.infer<typeof RegisterSessionSchema>;

export const SessionViewSchema = z
  .object({
    id: z.string(),
    state: z.enum(['active', 'ended']),
    principal: z.string(),
    agent: z.string().optional(),
    host: z.string().optional(),
    idleSeconds: z.number(),
    createdAt: z.string(),
    lastSeenAt: z.string(),
    /** When the session's leases are revoked unless a heartbeat arrives first. */
    idleDeadline: z.string(),
    endedAt: z.string().optional(),
    endReason: z.string().optional(),
  })
  .meta({ id: 'AgentSession' });
export type SessionView = z.infer<typeof SessionViewSchema>;

/** The agent workflow steps of the session dashboard, in order. */
export const SESSION_STEPS = ['understand', 'plan', 'execute', 'request_approval', 'apply', 'validate'] as const;
export type SessionStep = (typeof SESSION_STEPS)[number];
export const SESSION_EVENT_LEVELS = ['info', 'warn', 'error'] as const;
export type SessionEventLevel = (typeof SESSION_EVENT_LEVELS)[number];
export const MAX_SESSION_EVENT_MESSAGE = 2000;

export const SessionEventSchema = z
  .strictObject({
    /** The workflow step the agent is in (shown highlighted on the session dashboard). */
    step: z.enum(SESSION_STEPS).optional(),
    level: z.enum(SESSION_EVENT_LEVELS),
    /** What the agent is doing; secrets are redacted before it is stored. */
    message: z.string().trim().min(1, 'a message is required').max(MAX_SESSION_EVENT_MESSAGE),
  })
  .meta({ id: 'SessionEvent' });
export type SessionEventBody = z.infer<typeof SessionEventSchema>;

export const SessionEventViewSchema = z
  .object({
    id: z.string(),
    sessionId: z.string(),
    at: z.string(),
    step: z.enum(SESSION_STEPS).optional(),
    level: z.enum(SESSION_EVENT_LEVELS),
    /** `posture`: an endpoint-posture report of `leash scan --report`. */
    kind: z.enum(['log', 'posture']),
    message: z.string(),
    /** The principal that reported it. */
    by: z.string(),
    redacted: z.boolean(),
  })
  .meta({ id: 'SessionEventView' });
export type SessionEventView = z.infer<typeof SessionEventViewSchema>;

export const SessionEventsQuerySchema = z.strictObject({
  /** Only events after this event id (what the previous page or poll returned last). */
  after: z
    .string()
    .regex(/^\d{1,16}-\d{1,10}$/, 'an event id such as 1764480000000-0')
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(200),
});
export type SessionEventsQuery = z.infer<typeof SessionEventsQuerySchema>;

/** `DELETE /v1/sessions/{id}`: what ending the session revoked and cancelled. */
export const SessionRevocationSchema = z
  .object({
    sessionId: z.string(),
    revokedLeases: z.array(z.string()),
    /** Leases whose provider refused for now; the worker keeps retrying them. */
    pendingLeases: z.array(z.string()),
    cancelledRequests: z.array(z.string()),
  })
  .meta({ id: 'SessionRevocation' });
