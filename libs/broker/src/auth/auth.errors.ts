import { LeashError } from '@leash/core';

export enum AuthErrorCode {
  MissingToken = 'auth_missing_token',
  InvalidToken = 'auth_invalid_token',
  IssuerUnavailable = 'auth_issuer_unavailable',
}

export class AuthError extends LeashError<AuthErrorCode> {
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, {}, options);
  }
}
