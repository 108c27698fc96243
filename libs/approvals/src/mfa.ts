import type { Principal } from '@leash/core';

/** `amr` values (RFC 8176) that show a second factor. */
export const MFA_METHODS = ['mfa', 'otp', 'hwk'] as const;

/**
 * Why an approver's identity does not prove recent MFA, or undefined when it does: the token's
 * `amr` must contain mfa, otp or hwk, and `auth_time` must be at most maxAgeSeconds old.
 */
export function mfaProblem(principal: Principal, nowMs: number, maxAgeSeconds: number): string | undefined {
  const methods = principal.amr ?? [];
  if (!methods.some((m) => (MFA_METHODS as readonly string[]).includes(m))) {
    return 'this approval requires MFA: your identity token shows no mfa, otp or hwk in amr';
  }
  if (principal.authTime === undefined) {
    return 'this approval requires recent MFA: your identity token has no auth_time';
  }
  const age = Math.floor(nowMs / 1000) - principal.authTime;
  if (age > maxAgeSeconds) {
    return `this approval requires recent MFA: you authenticated ${age} s ago (at most ${maxAgeSeconds} s); sign in again`;
  }
  return undefined;
}
