import { LeashError } from '@leash/core';

export enum ProviderErrorCode {
  Retryable = 'provider_retryable',
  Permanent = 'provider_permanent',
  NotConfigured = 'provider_not_configured',
}

/** A provider failure; `providerCode` is the provider's own error code (never a secret). */
export class ProviderError extends LeashError<ProviderErrorCode> {
  constructor(
    readonly code: ProviderErrorCode,
    readonly provider: string,
    readonly providerCode: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, { provider, providerCode }, options);
  }

  get retryable(): boolean {
    return this.code === ProviderErrorCode.Retryable;
  }
}
