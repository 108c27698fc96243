/** `amr` values (RFC 8176) that show a second factor. */
export const MFA_METHODS = ['mfa', 'otp', 'hwk'] as const;

/** Clock skew tolerated on `auth_time`; a sign-in further in the future is not evidence of anything. */
export const AUTH_TIME_SKEW_SECONDS = 60;

/** What an approver's identity says about its sign-in (token `amr` and `auth_time` in epoch seconds). */
export interface MfaEvidence {
  amr?: string[];
  authTime?: number;
}

/**
 * Why an approver's identity does not prove recent MFA, or undefined when it does: the token's
 * `amr` must contain mfa, otp or hwk, and `auth_time` must be at most maxAgeSeconds old and not in the future.
 */
export function mfaProblem(evidence: MfaEvidence, nowMs: number, maxAgeSeconds: number): string | undefined {
  const methods = evidence.amr ?? [];
  if (!methods.some((m) => (MFA_METHODS as readonly string[]).includes(m))) {
    return 'this approval requires MFA: your identity token shows no mfa, otp or hwk in amr';
  }
  if (evidence.authTime === undefined) {
    return 'this approval requires recent MFA: your identity token has no auth_time';
  }
  const age = Math.floor(nowMs / 1000) - evidence.authTime;
  if (age < -AUTH_TIME_SKEW_SECONDS) {
    return 'this approval requires recent MFA: your identity token says you signed in in the future (auth_time)';
  }
  if (age > maxAgeSeconds) {
    return `this approval requires recent MFA: you authenticated ${age} s ago (at most ${maxAgeSeconds} s); sign in again`;
  }
  return undefined;
}
