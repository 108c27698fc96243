import { LeashError } from '@leash/core';

export enum AuditErrorCode {
  Unavailable = 'audit_unavailable',
}

export class AuditError extends LeashError<AuditErrorCode> {
  readonly code = AuditErrorCode.Unavailable;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, {}, options);
  }
}
