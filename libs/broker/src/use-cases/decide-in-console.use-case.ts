import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock, type Principal } from '@leash/core';
import type { RequestView } from '@leash/contracts';
import { ApprovalError, ApprovalErrorCode, checkMfa, mfaRequirementOf, type LoginEvidence } from '@leash/approvals';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { notFound } from '../access-control';
import { DecideRequest } from './decide-request.use-case';

export interface ConsoleDecision {
  principal: Principal;
  login: LoginEvidence;
  id: string;
  decision: 'approve' | 'deny';
  comment?: string;
  /** Approve only: narrow to this shorter TTL (a new digest; earlier approvals stop counting). */
  ttlSeconds?: number;
  /** Digest of the request as the approver saw it; a changed request is refused. */
  shownDigest?: string;
  mfaMaxAgeSeconds: number;
}

/**
 * A decision from the web console: the web login carries MFA evidence, so roles that require MFA
 * are checked here (fail closed); then the same DecideRequest flow as every channel runs.
 */
@Injectable()
export class DecideInConsole {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly decide: DecideRequest,
  ) {}

  async execute(cmd: ConsoleDecision): Promise<RequestView> {
    const found = await this.store.getRequest(cmd.id);
    if (!found) {
      throw notFound(`request ${cmd.id}`);
    }
    if (cmd.shownDigest !== undefined && cmd.shownDigest !== found.request.digest) {
      throw new ApprovalError(
        ApprovalErrorCode.DigestMismatch,
        'the request changed since it was shown to you; review it again',
      );
    }
    const check = checkMfa(mfaRequirementOf(found.request.approval, cmd.mfaMaxAgeSeconds), cmd.login, this.clock.now());
    if (!check.ok && cmd.decision === 'approve') {
      throw new ApprovalError(ApprovalErrorCode.MfaRequired, check.reason);
    }
    // The policy's MFA rule reads amr/auth_time from the principal: carry the console login's evidence.
    const principal: Principal = {
      ...cmd.principal,
      ...(cmd.login.mfa ? { amr: [...new Set([...(cmd.principal.amr ?? []), 'mfa'])] } : {}),
      ...(cmd.login.authTime !== undefined ? { authTime: Math.floor(cmd.login.authTime / 1000) } : {}),
    };
    return this.decide.execute({
      principal,
      id: cmd.id,
      decision: cmd.decision,
      ...(cmd.comment ? { comment: cmd.comment } : {}),
      ...(cmd.ttlSeconds !== undefined ? { ttlSeconds: cmd.ttlSeconds } : {}),
      channel: 'web',
    });
  }
}
