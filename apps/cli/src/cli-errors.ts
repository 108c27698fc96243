/** Exit codes of the leash CLI (documented in the README). */
export const Exit = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  Denied: 3,
  Expired: 4,
  Unreachable: 5,
  Unauthenticated: 6,
} as const;

export class UsageError extends Error {}

export class ExitError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
