import type { LoadedPolicy } from '@leash/policy';
import { loadPolicyFile, PolicyError, PolicyErrorCode } from '@leash/policy';
import type { ProviderRegistry } from '@leash/providers';

/** Holds the policy in force; a policy whose roles name unusable providers or settings is refused. */
export class PolicyHolder {
  private loaded: LoadedPolicy;

  constructor(
    private readonly path: string,
    private readonly providers: ProviderRegistry,
  ) {
    this.loaded = this.load();
  }

  get current(): LoadedPolicy {
    return this.loaded;
  }

  private load(): LoadedPolicy {
    const policy = loadPolicyFile(this.path);
    const problems: string[] = [];
    policy.document.roles.forEach((role, index) => {
      if (!this.providers.has(role.provider)) {
        problems.push(`${this.path}: roles.${index} (${role.id}): provider "${role.provider}" is not enabled`);
        return;
      }
      for (const p of this.providers.get(role.provider).validateSettings(role.settings, role)) {
        problems.push(`${this.path}: roles.${index} (${role.id}): ${p}`);
      }
    });
    if (problems.length > 0) {
      throw new PolicyError(PolicyErrorCode.Invalid, `Invalid policy\n  ${problems.join('\n  ')}`, { problems });
    }
    return policy;
  }
}
