import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import type { Principal } from '@leash/core';
import { BreakGlassSchema, type BreakGlassBody, type BreakGlassResult } from '@leash/contracts';
import { BreakGlass } from '@leash/broker';
import { BearerAuthGuard, CurrentPrincipal } from '../http/auth.guard';
import { CurrentCall, IdempotentCalls, type HttpCall } from '../http/idempotency';
import { ZodPipe } from '../http/zod.pipe';

/** Admin operations (members of the policy's admin group). */
@Controller('v1/admin')
@UseGuards(BearerAuthGuard)
export class AdminController {
  constructor(
    private readonly breakGlass: BreakGlass,
    private readonly idempotent: IdempotentCalls,
  ) {}

  /** Break glass: revoke every lease matching `{environment?, role?, principal?}` and cancel matching open requests. */
  @Post('revoke')
  @HttpCode(200)
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(BreakGlassSchema)) body: BreakGlassBody,
    @CurrentCall() call: HttpCall,
  ): Promise<BreakGlassResult> {
    return this.idempotent.run(call, { storeBody: true, status: 200 }, () =>
      this.breakGlass.execute({ principal, body }),
    );
  }
}
