import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, CoreError, CoreErrorCode, type AccessRequest, type Clock, type Principal } from '@leash/core';
import type { RequestView } from '@leash/contracts';
import { ApprovalError, ApprovalErrorCode, checkMfa, mfaRequirementOf, type LoginEvidence } from '@leash/approvals';
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
  /** What the approver typed to confirm a high or critical request: its environment's name. */
  confirmEnvironment?: string;
}

/** Risk levels whose approval in the console must be confirmed by typing the environment's name. */
export const CONFIRMED_RISK_LEVELS: readonly string[] = ['high', 'critical'];

/**
 * A decision from the web console: the web login carries MFA evidence, so roles that require MFA
 * are checked here (fail closed); then the same DecideRequest flow as every channel runs.
 */
@Injectable()
export class DecideInConsole {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly decide: DecideRequest,
  ) {}

  async execute(cmd: ConsoleDecision): Promise<RequestView> {
    // The policy's MFA rule reads amr/auth_time from the principal: carry the console login's evidence.
    const principal: Principal = {
      ...cmd.principal,
      ...(cmd.login.mfa ? { amr: [...new Set([...(cmd.principal.amr ?? []), 'mfa'])] } : {}),
      ...(cmd.login.authTime !== undefined ? { authTime: Math.floor(cmd.login.authTime / 1000) } : {}),
    };
    // The console's checks run on the request as DecideRequest reads it under its lock (one read).
    return this.decide.execute(
      {
        principal,
        id: cmd.id,
        decision: cmd.decision,
        ...(cmd.comment ? { comment: cmd.comment } : {}),
        ...(cmd.ttlSeconds !== undefined ? { ttlSeconds: cmd.ttlSeconds } : {}),
        channel: 'web',
      },
      (found) => this.check(cmd, found.request),
    );
  }

  private check(cmd: ConsoleDecision, request: AccessRequest): void {
    if (cmd.shownDigest !== undefined && cmd.shownDigest !== request.digest) {
      throw new ApprovalError(
        ApprovalErrorCode.DigestMismatch,
        'the request changed since it was shown to you; review it again',
      );
    }
    const check = checkMfa(mfaRequirementOf(request.approval, cmd.mfaMaxAgeSeconds), cmd.login, this.clock.now());
    if (!check.ok && cmd.decision === 'approve') {
      throw new ApprovalError(ApprovalErrorCode.MfaRequired, check.reason);
    }
    // A deliberate act, not a reflex: high and critical approvals name the environment they open.
    if (
      cmd.decision === 'approve' &&
      CONFIRMED_RISK_LEVELS.includes(request.risk.level) &&
      cmd.confirmEnvironment?.trim() !== request.environment
    ) {
      throw new CoreError(
        CoreErrorCode.Invalid,
        `not approved: this ${request.risk.level}-risk request needs you to type its environment's name (${request.environment}) to confirm`,
      );
    }
  }
}
