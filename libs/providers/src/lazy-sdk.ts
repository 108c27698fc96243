import { ProviderError, ProviderErrorCode } from './provider.errors';

/**
 * A provider's client library, required when a claim, revocation or health check first needs it
 * instead of when the process starts: the cloud SDKs were most of the API's and the worker's module
 * loading (bench/RESULTS.md), and a deployment uses one or two providers at most.
 *
 * A library that fails to load (missing or broken install) fails the call that needed it with a
 * retryable ProviderError (503 for a claim, a retry for a revocation) instead of ending the process;
 * the failure is not remembered, so the next call tries again.
 */
export function lazySdk<T>(provider: string, load: () => T): () => T {
  let loaded: T | undefined;
  return () => {
    if (loaded === undefined) {
      try {
        loaded = load();
      } catch (cause) {
        throw new ProviderError(
          ProviderErrorCode.Retryable,
          provider,
          'SdkUnavailable',
          `${provider}: its client library could not be loaded`,
          { cause },
        );
      }
    }
    return loaded;
  };
}
