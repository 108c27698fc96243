import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '@leash/core';
import { RoleTargetSchema, type RequestableRolesResponse } from '@leash/contracts';
import { approvalRuleOf, principalAllowed } from '@leash/policy';
import type { ProviderRegistry } from '@leash/providers';
import { POLICY_HOLDER, PROVIDER_REGISTRY } from '../broker.tokens';
import type { PolicyHolder } from '../policy/policy.holder';

/**
 * The roles (and environments) the caller may request, so a client such as `leash run` can prepare
 * one AWS profile and one kube context per role. Reveals no secret and nothing about other principals'
 * roles; risk routing may still ask a human for a role listed as `auto`.
 */
@Injectable()
export class ListRequestableRoles {
  constructor(
    @Inject(POLICY_HOLDER) private readonly holder: PolicyHolder,
    @Inject(PROVIDER_REGISTRY) private readonly providers: ProviderRegistry,
  ) {}

  execute(cmd: { caller: Principal }): RequestableRolesResponse {
    const { document: doc, version } = this.holder.current;
    const roles = doc.roles
      .filter((role) => principalAllowed(role, cmd.caller))
      .map((role) => {
        const environments = role.environments.filter((e) => doc.environments[e] !== undefined);
        const maxTtl = Math.max(0, ...environments.map((e) => Math.min(role.maxTtl, doc.environments[e].maxTtl)));
        const described = this.providers.has(role.provider)
          ? this.providers.get(role.provider).describeTarget?.(role.settings)
          : undefined;
        const target = described ? RoleTargetSchema.safeParse(described) : undefined;
        return {
          id: role.id,
          ...(role.description ? { description: role.description } : {}),
          provider: role.provider,
          privilege: role.privilege,
          environments,
          approval: approvalRuleOf(doc, role).kind === 'auto' ? ('auto' as const) : ('human' as const),
          maxTtlSeconds: maxTtl,
          ...(target?.success ? { target: target.data } : {}),
        };
      })
      .filter((role) => role.environments.length > 0);
    return {
      principal: cmd.caller.id,
      policyVersion: version,
      environments: Object.entries(doc.environments).map(([name, env]) => ({ name, tier: env.tier })),
      roles,
    };
  }
}
