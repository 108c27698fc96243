import { LeashError } from '@leash/core';

export enum PolicyErrorCode {
  Invalid = 'policy_invalid',
  Denied = 'policy_denied',
  Unavailable = 'policy_unavailable',
}

export class PolicyError extends LeashError<PolicyErrorCode> {
  constructor(
    readonly code: PolicyErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, details, options);
  }
}
