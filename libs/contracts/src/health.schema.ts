import { z } from 'zod';

export const LivenessSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Liveness' });

const checks = z.record(z.string(), z.looseObject({ status: z.enum(['up', 'down']) }));

/** `GET /readyz` (@nestjs/terminus): 200 when every gating check is up, else 503 with the failing ones. */
export const ReadinessSchema = z
  .object({
    status: z.enum(['ok', 'error', 'shutting_down']),
    info: checks.optional(),
    error: checks.optional(),
    details: checks,
    /** The same as `details`, under the name the readiness body has always used. */
    checks,
  })
  .meta({ id: 'Readiness' });
