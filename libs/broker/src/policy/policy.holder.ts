import type { LoadedPolicy } from '@leash/policy';
import { loadPolicyFile, PolicyError, PolicyErrorCode } from '@leash/policy';
import type { ProviderRegistry } from '@leash/providers';

export type ReloadResult =
  | { ok: true; changed: boolean; previous: LoadedPolicy; current: LoadedPolicy }
  | { ok: false; problems: string[]; current: LoadedPolicy };

/** How an operator turns on a provider that is not always built. */
const ENABLE_HINT: Record<string, string> = {
  jwt: ' (set LEASH_JWT_KEYS to a key set file: node scripts/generate-jwt-keys.js FILE)',
};

/**
 * Holds the policy in force. A policy whose roles name unusable providers or settings is refused;
 * a refused reload keeps the last good policy.
 */
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

  /** Reads the file again; the new policy takes effect at once, or the old one stays with the problems. */
  reload(): ReloadResult {
    const previous = this.loaded;
    let next: LoadedPolicy;
    try {
      next = this.load();
    } catch (err) {
      if (err instanceof PolicyError) {
        const problems = Array.isArray(err.details.problems) ? (err.details.problems as string[]) : [err.message];
        return { ok: false, problems, current: previous };
      }
      throw err;
    }
    this.loaded = next;
    return { ok: true, changed: next.version !== previous.version, previous, current: next };
  }

  private load(): LoadedPolicy {
    const policy = loadPolicyFile(this.path);
    const problems: string[] = [];
    policy.document.roles.forEach((role, index) => {
      if (!this.providers.has(role.provider)) {
        problems.push(
          `${this.path}: roles.${index} (${role.id}): provider "${role.provider}" is not enabled${ENABLE_HINT[role.provider] ?? ''}`,
        );
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
