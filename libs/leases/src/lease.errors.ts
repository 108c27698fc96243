import { LeashError } from '@leash/core';

export enum LeaseErrorCode {
  StoreUnavailable = 'store_unavailable',
  Corrupt = 'store_corrupt',
  /** The lease was written but fewer replicas than LEASH_REDIS_MIN_REPLICAS acknowledged it in time. */
  NotReplicated = 'not_replicated',
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
