import { LeashError } from '@leash/core';

export enum ApprovalErrorCode {
  SelfApproval = 'self_approval',
  NotApprover = 'not_approver',
  NotPending = 'not_pending',
  AlreadyDecided = 'already_decided',
  DigestMismatch = 'digest_mismatch',
  Expired = 'approval_expired',
  MfaRequired = 'approval_mfa_required',
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
