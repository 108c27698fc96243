import { Injectable } from '@nestjs/common';
import type { Principal } from '@leash/core';
import type { ExplainPolicyBody, ExplainPolicyResponse } from '@leash/contracts';
import { forbidden } from '../access-control';
import { Identities } from '../auth/identities';
import { PolicyDecisions } from '../policy/policy-decisions.service';

/** What the policy would decide for a hypothetical request, without creating anything (admins only). */
@Injectable()
export class ExplainPolicy {
  constructor(
    private readonly decisions: PolicyDecisions,
    private readonly identities: Identities,
  ) {}

  async execute(cmd: { caller: Principal; body: ExplainPolicyBody }): Promise<ExplainPolicyResponse> {
    if (!this.identities.isAdmin(cmd.caller)) {
      throw forbidden('only members of the policy admin group may explain the policy');
    }
    const { body } = cmd;
    const principal: Principal = {
      id: body.principal.sub,
      issuer: cmd.caller.issuer,
      groups: body.principal.groups,
      ...(body.principal.owner ? { owner: body.principal.owner } : {}),
      ...(body.principal.email ? { email: body.principal.email } : {}),
      ...(body.principal.amr ? { amr: body.principal.amr } : {}),
    };
    const { policy, evaluation } = await this.decisions.decide(
      {
        principal,
        role: body.role,
        environment: body.environment,
        ttlSeconds: body.ttlSeconds,
        context: body.context,
      },
      'explain',
    );
    if (evaluation.decision === 'denied') {
      return {
        decision: 'denied',
        matched: evaluation.matched,
        reasons: evaluation.reasons,
        policyVersion: policy.version,
      };
    }
    const a = evaluation.approval;
    return {
      decision: evaluation.decision,
      risk: evaluation.risk,
      approval:
        a.kind === 'auto'
          ? {
              kind: 'auto',
              claimWindowSeconds: a.claimWindowSeconds,
              ...(a.budgetPerHour ? { budgetPerHour: a.budgetPerHour } : {}),
            }
          : {
              kind: 'quorum',
              requirements: a.requirements,
              requireMfa: a.requireMfa ?? false,
              channels: a.channels ?? ['web', 'slack', 'api'],
              timeoutSeconds: a.timeoutSeconds,
              claimWindowSeconds: a.claimWindowSeconds,
            },
      ttlSeconds: evaluation.ttlSeconds,
      matched: evaluation.matched,
      reasons: evaluation.reasons,
      policyVersion: policy.version,
    };
  }
}
