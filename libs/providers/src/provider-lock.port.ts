/**
 * A short mutual-exclusion lock across broker processes, for read-modify-write of shared provider
 * objects (e.g. one inline role policy that every revocation of the role edits).
 */
export interface ProviderLock {
  /** Runs `fn` while holding `key`; throws a retryable ProviderError when the lock cannot be taken. */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
}
