import type { ProviderKind } from '@leash/core';
import type { CredentialProvider } from './credential-provider.port';
import { ProviderError, ProviderErrorCode } from './provider.errors';

/** Picks the adapter for a role's provider kind. */
export class ProviderRegistry {
  private readonly byKind = new Map<ProviderKind, CredentialProvider>();

  constructor(providers: CredentialProvider[]) {
    for (const provider of providers) {
      this.byKind.set(provider.kind, provider);
    }
  }

  has(kind: ProviderKind): boolean {
    return this.byKind.has(kind);
  }

  get(kind: ProviderKind): CredentialProvider {
    const provider = this.byKind.get(kind);
    if (!provider) {
      throw new ProviderError(
        ProviderErrorCode.NotConfigured,
        kind,
        'NotConfigured',
        `provider "${kind}" is not enabled in this deployment`,
      );
    }
    return provider;
  }

  all(): CredentialProvider[] {
    return [...this.byKind.values()];
  }
}
