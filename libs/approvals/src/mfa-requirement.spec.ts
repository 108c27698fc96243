import type { ApprovalRule } from '@leash/core';
import { checkMfa, mfaRequirementOf } from './mfa-requirement';

const base: ApprovalRule = {
  kind: 'quorum',
  requirements: [{ groups: ['prod-approvers'], quorum: 1 }],
  timeoutSeconds: 900,
  claimWindowSeconds: 600,
};
const now = 1_700_000_000_000;

describe('MFA requirement of an approval rule', () => {
  it('needs no MFA when the snapshot has no requireMfa (older requests, auto rules)', () => {
    expect(mfaRequirementOf(base, 900)).toEqual({ required: false, maxAgeSeconds: 900 });
    expect(checkMfa(mfaRequirementOf(base, 900), { mfa: false }, now)).toEqual({ ok: true });
  });

  it('reads requireMfa: true with the default limit, and a limit from the rule when it names one', () => {
    expect(mfaRequirementOf({ ...base, requireMfa: true }, 900)).toEqual({
      required: true,
      maxAgeSeconds: 900,
    });
    expect(mfaRequirementOf({ ...base, requireMfa: true, mfaMaxAgeSeconds: 300 }, 900).maxAgeSeconds).toBe(300);
    expect(mfaRequirementOf({ ...base, requireMfa: { maxAge: 120 } } as unknown as ApprovalRule, 900)).toEqual({
      required: true,
      maxAgeSeconds: 120,
    });
  });

  it('refuses a login without MFA, without auth_time, or older than the limit; accepts a recent MFA login', () => {
    const sut = { required: true, maxAgeSeconds: 600 };
    expect(checkMfa(sut, { mfa: false, authTime: now }, now)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('multi-factor'),
    });
    expect(checkMfa(sut, { mfa: true }, now)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('auth_time'),
    });
    expect(checkMfa(sut, { mfa: true, authTime: now - 601_000 }, now)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('601 s ago'),
    });
    expect(checkMfa(sut, { mfa: true, authTime: now - 600_000 }, now)).toEqual({ ok: true });
  });

  it('refuses a console sign-in whose auth_time is in the future beyond the 60 s skew', () => {
    const sut = { required: true, maxAgeSeconds: 600 };
    expect(checkMfa(sut, { mfa: true, authTime: now + 60_000 }, now)).toEqual({ ok: true });
    expect(checkMfa(sut, { mfa: true, authTime: now + 61_000 }, now)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('future'),
    });
  });
});
