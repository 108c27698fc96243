import { LeashError } from '@leash/core';

export enum ProviderErrorCode {
  Retryable = 'provider_retryable',
  Permanent = 'provider_permanent',
  NotConfigured = 'provider_not_configured',
}

/**
 * A provider failure; `providerCode` is the provider's own error code (never a secret).
 * `outcomeUnknown`: no answer came back (connection reset, timeout), so the call may have taken effect.
 */
export class ProviderError extends LeashError<ProviderErrorCode> {
  readonly outcomeUnknown: boolean;

  constructor(
    readonly code: ProviderErrorCode,
    readonly provider: string,
    readonly providerCode: string,
    message: string,
    options?: { cause?: unknown; outcomeUnknown?: boolean },
  ) {
    super(message, { provider, providerCode }, options?.cause === undefined ? undefined : { cause: options.cause });
    this.outcomeUnknown = options?.outcomeUnknown ?? false;
  }

  get retryable(): boolean {
    return this.code === ProviderErrorCode.Retryable;
  }
}
