import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Principal } from '@leash/core';
import { PeopleDirectory, type LoadedPolicy, type ResolvedIdentity } from '@leash/policy';
import { DEV_ISSUER, POLICY_HOLDER } from '../broker.tokens';
import type { PolicyHolder } from '../policy/policy.holder';
import type { DevIssuer } from './dev-issuer';

/**
 * Resolves whoever acts (API token, console login, Slack user) to one person of the policy in force,
 * bound to its issuer. Every membership, admin and conflict check goes through here.
 */
@Injectable()
export class Identities {
  private readonly directories = new WeakMap<LoadedPolicy, PeopleDirectory>();

  constructor(
    @Inject(POLICY_HOLDER) private readonly policy: PolicyHolder,
    @Optional() @Inject(DEV_ISSUER) private readonly devIssuer?: DevIssuer,
  ) {}

  directory(): PeopleDirectory {
    const current = this.policy.current;
    let directory = this.directories.get(current);
    if (!directory) {
      directory = new PeopleDirectory(current.document, this.devIssuer?.issuer);
      this.directories.set(current, directory);
    }
    return directory;
  }

  of(principal: Principal): ResolvedIdentity {
    return this.directory().resolve(principal);
  }

  ofSlackUser(userId: string): ResolvedIdentity | undefined {
    return this.directory().resolveSlack(userId);
  }

  isAdmin(principal: Principal): boolean {
    return this.of(principal).admin;
  }

  /** The issuer URL a console login from this IdP counts as (policy `consoleIssuer`, default the first issuer). */
  consoleIssuerUrl(iss: string): string | undefined {
    return this.directory().consoleIssuerUrl(iss);
  }
}
