import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import type { Principal } from '@leash/core';
import { ExplainPolicySchema, type ExplainPolicyBody, type ExplainPolicyResponse } from '@leash/contracts';
import { ExplainPolicy } from '@leash/broker';
import { BearerAuthGuard, CurrentPrincipal } from '../http/auth.guard';
import { ZodPipe } from '../http/zod.pipe';

@Controller('v1/policy')
@UseGuards(BearerAuthGuard)
export class PolicyController {
  constructor(private readonly explain: ExplainPolicy) {}

  /** What the policy would decide for a hypothetical request; creates nothing. Admins only. */
  @Post('explain')
  @HttpCode(200)
  explainRequest(
    @CurrentPrincipal() caller: Principal,
    @Body(new ZodPipe(ExplainPolicySchema)) body: ExplainPolicyBody,
  ): Promise<ExplainPolicyResponse> {
    return this.explain.execute({ caller, body });
  }
}
