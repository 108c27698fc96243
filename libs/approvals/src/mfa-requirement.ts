import type { ApprovalRule } from '@leash/core';
import { AUTH_TIME_SKEW_SECONDS } from './mfa';

/** What an approver's login proves: whether it used several factors, and when it happened. */
export interface LoginEvidence {
  mfa: boolean;
  /** Epoch milliseconds of the IdP authentication (`auth_time`); undefined when the IdP did not say. */
  authTime?: number;
}

export interface MfaRequirement {
  required: boolean;
  maxAgeSeconds: number;
}

export type MfaCheck = { ok: true } | { ok: false; reason: string };

/**
 * Reads the MFA part of a request's approval-rule snapshot. A snapshot without `requireMfa`
 * (requests made before the field existed) needs no MFA. `requireMfa` may be `true`, or an object
 * `{ maxAge }` in seconds; `mfaMaxAgeSeconds` on the rule also sets the limit.
 */
export function mfaRequirementOf(rule: ApprovalRule, defaultMaxAgeSeconds: number): MfaRequirement {
  const extra = rule as unknown as { requireMfa?: unknown; mfaMaxAgeSeconds?: unknown };
  const flag = extra.requireMfa;
  const objectLimit =
    typeof flag === 'object' && flag !== null ? (flag as { maxAge?: unknown; maxAgeSeconds?: unknown }) : undefined;
  const limits = [extra.mfaMaxAgeSeconds, objectLimit?.maxAgeSeconds, objectLimit?.maxAge].filter(
    (v): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0,
  );
  return {
    required: flag === true || objectLimit !== undefined,
    maxAgeSeconds: limits[0] ?? defaultMaxAgeSeconds,
  };
}

/** Checks an approver's login against a role's MFA requirement; fails closed without `auth_time`. */
export function checkMfa(requirement: MfaRequirement, login: LoginEvidence, now: number): MfaCheck {
  if (!requirement.required) {
    return { ok: true };
  }
  if (!login.mfa) {
    return { ok: false, reason: 'this role requires approvers to sign in with multi-factor authentication' };
  }
  if (login.authTime === undefined) {
    return { ok: false, reason: 'your identity provider did not report when you signed in (auth_time)' };
  }
  const ageSeconds = Math.floor((now - login.authTime) / 1000);
  if (ageSeconds < -AUTH_TIME_SKEW_SECONDS) {
    return { ok: false, reason: 'your identity provider reported a sign-in time in the future (auth_time)' };
  }
  if (ageSeconds > requirement.maxAgeSeconds) {
    return {
      ok: false,
      reason: `this role needs an MFA sign-in within the last ${requirement.maxAgeSeconds} s; yours was ${ageSeconds} s ago`,
    };
  }
  return { ok: true };
}
