import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock, type Principal, type RequestContext } from '@leash/core';
import { evaluateRequest, type Evaluation, type LoadedPolicy } from '@leash/policy';
import type { AutoApprovalBudgetStore } from '@leash/leases';
import { AUTO_APPROVAL_BUDGET, POLICY_HOLDER } from '../broker.tokens';
import type { PolicyHolder } from './policy.holder';
import { inSpan } from '../observability/tracing';

export interface DecisionInput {
  principal: Principal;
  role: string;
  environment: string;
  ttlSeconds?: number;
  context?: RequestContext;
}

/**
 * The one evaluation path shared by the request flow and `POST /v1/policy/explain`: the pure
 * policy evaluation plus the auto-approval budget kept in Redis. A real request spends the budget
 * (atomically, keyed by the request id); an explanation only reads it.
 */
@Injectable()
export class PolicyDecisions {
  constructor(
    @Inject(POLICY_HOLDER) private readonly holder: PolicyHolder,
    @Inject(AUTO_APPROVAL_BUDGET) private readonly budget: AutoApprovalBudgetStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  decide(
    input: DecisionInput,
    mode: { spend: string } | 'explain',
  ): Promise<{ policy: LoadedPolicy; evaluation: Evaluation }> {
    const attributes = { 'leash.role': input.role, 'leash.environment': input.environment };
    return inSpan('leash.policy.decide', attributes, () => this.evaluate(input, mode));
  }

  private async evaluate(
    input: DecisionInput,
    mode: { spend: string } | 'explain',
  ): Promise<{ policy: LoadedPolicy; evaluation: Evaluation }> {
    const policy = this.holder.current;
    const evaluation = evaluateRequest(policy, input);
    if (evaluation.decision !== 'auto_approved' || evaluation.approval.kind !== 'auto') {
      return { policy, evaluation };
    }
    const limit = evaluation.approval.budgetPerHour;
    if (limit === undefined) {
      return { policy, evaluation };
    }
    const now = this.clock.now();
    const exhausted =
      mode === 'explain'
        ? (await this.budget.used(input.principal.id, input.role, now)) >= limit
        : !(await this.budget.tryConsume(input.principal.id, input.role, limit, now, mode.spend));
    if (!exhausted) {
      return { policy, evaluation };
    }
    return { policy, evaluation: evaluateRequest(policy, { ...input, autoBudgetExhausted: true }) };
  }
}
