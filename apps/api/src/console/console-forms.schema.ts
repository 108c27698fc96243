import { z } from 'zod';

const filterValue = z
  .string()
  .max(128)
  .regex(/^[A-Za-z0-9._:-]*$/, 'letters, digits and ._:- only')
  .optional()
  .transform((v) => (v ? v : undefined));

export const PendingQuerySchema = z.strictObject({
  environment: filterValue,
  role: filterValue,
  risk: z
    .enum(['low', 'medium', 'high', 'critical', ''])
    .optional()
    .transform((v) => (v ? v : undefined)),
});

const count = z.coerce.number().int().min(0).max(10_000_000).optional();

export const LeasesQuerySchema = z.strictObject({
  environment: filterValue,
  role: filterValue,
  session: filterValue,
  done: z.enum(['revoked', 'session-revoked', 'break-glass']).optional(),
  // Break glass outcome, shown in the flash after the redirect.
  env: filterValue,
  revoked: count,
  pending: count,
  cancelled: count,
  unrecallable: count,
});

export const RequestPageQuerySchema = z.strictObject({
  done: z.enum(['approved', 'denied', 'revoked']).optional(),
});

export const LoginQuerySchema = z.object({
  returnTo: z.string().max(512).optional(),
  notice: z.enum(['signed-out', 'expired']).optional(),
  mfa: z.enum(['1']).optional(),
});

const csrf = z.string().max(200).optional();

export const ApproveFormSchema = z.strictObject({
  _csrf: csrf,
  digest: z
    .string()
    .regex(/^[a-f0-9]{64}$/)
    .optional(),
  ttlSeconds: z.string().max(12).optional(),
  comment: z.string().max(1000).optional(),
  confirmEnvironment: z.string().max(128).optional(),
});

export const DenyFormSchema = z.strictObject({
  _csrf: csrf,
  comment: z.string().max(1000).optional(),
});

export const CsrfFormSchema = z.strictObject({
  _csrf: csrf,
  returnTo: z.string().max(512).optional(),
});

export const DevLoginFormSchema = z.strictObject({
  _csrf: csrf,
  returnTo: z.string().max(512).optional(),
  subject: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9@._:-]+$/, 'letters, digits and @._:- only'),
  email: z.union([z.literal(''), z.string().email().max(256)]).optional(),
  groups: z.string().max(512).optional(),
  mfa: z.enum(['yes']).optional(),
});

export const ConsoleIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'is not a valid id');

/** Break glass for one environment: the admin types the environment's name to confirm. */
export const BreakGlassFormSchema = z.strictObject({
  _csrf: csrf,
  environment: z
    .string()
    .min(1, 'choose an environment')
    .max(128)
    .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and ._:- only'),
  confirm: z.string().max(128),
  reason: z.string().trim().min(1, 'say why (it goes into the audit trail)').max(2000),
});
