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
