/**
 * Base of every domain error. Each lib defines its own subclass with a string-enum `code`;
 * apps/api maps the codes to problem+json. Messages never contain secrets.
 */
export abstract class LeashError<C extends string = string> extends Error {
  abstract readonly code: C;

  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export enum CoreErrorCode {
  Unauthenticated = 'unauthenticated',
  Forbidden = 'forbidden',
  NotFound = 'not_found',
  Conflict = 'conflict',
  Invalid = 'invalid',
  Unavailable = 'unavailable',
  RateLimited = 'rate_limited',
}

/** Cross-cutting errors raised by use cases (authorization, lookups, store availability). */
export class CoreError extends LeashError<CoreErrorCode> {
  constructor(
    readonly code: CoreErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, details, options);
  }
}
