import { LeashError } from '@leash/core';

export enum NotifierErrorCode {
  /** The messaging API asked us to wait (HTTP 429); retry after `retryAfterMs`. */
  RateLimited = 'rate_limited',
  /** Outage or timeout: retry with backoff. */
  Retryable = 'retryable',
  /** Retrying cannot help (bad token, unknown channel, rejected payload). */
  Permanent = 'permanent',
}

/** A notifier call that failed; the notification worker's retry policy depends only on the code. */
export class NotifierError extends LeashError<NotifierErrorCode> {
  constructor(
    readonly code: NotifierErrorCode,
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, retryAfterMs === undefined ? {} : { retryAfterMs }, options);
  }
}
