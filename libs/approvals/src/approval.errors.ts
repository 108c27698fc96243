import { LeashError } from '@leash/core';

export enum ApprovalErrorCode {
  SelfApproval = 'self_approval',
  NotApprover = 'not_approver',
  NotPending = 'not_pending',
  AlreadyDecided = 'already_decided',
  DigestMismatch = 'digest_mismatch',
  Expired = 'approval_expired',
  /** A Slack callback whose signature or timestamp does not verify. */
  BadSignature = 'bad_signature',
  /** A correctly signed Slack callback seen before. */
  Replayed = 'replayed',
  /** A verified Slack callback whose payload is not one we understand. */
  BadInteraction = 'bad_interaction',
  MfaRequired = 'mfa_required',
  ChannelNotAllowed = 'channel_not_allowed',
  InvalidNarrowing = 'invalid_narrowing',
}

export class ApprovalError extends LeashError<ApprovalErrorCode> {
  constructor(
    readonly code: ApprovalErrorCode,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(message, details);
  }
}
