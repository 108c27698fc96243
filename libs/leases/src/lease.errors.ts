import { LeashError } from '@leash/core';

export enum LeaseErrorCode {
  StoreUnavailable = 'store_unavailable',
  Corrupt = 'store_corrupt',
}

export class LeaseError extends LeashError<LeaseErrorCode> {
  constructor(
    readonly code: LeaseErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, {}, options);
  }
}
