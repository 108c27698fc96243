import { Body, Controller, HttpCode, Post, UseGuards, UseInterceptors } from '@nestjs/common';
import type { Principal } from '@leash/core';
import { BreakGlassSchema, type BreakGlassBody, type BreakGlassResult } from '@leash/contracts';
import { BreakGlass } from '@leash/broker';
import { BearerAuthGuard, CurrentPrincipal } from '../http/auth.guard';
import { Idempotent, IdempotencyInterceptor } from '../http/idempotency.interceptor';
import { ZodPipe } from '../http/zod.pipe';

/** Admin operations (members of the policy's admin group). */
@Controller('v1/admin')
@UseGuards(BearerAuthGuard)
@UseInterceptors(IdempotencyInterceptor)
export class AdminController {
  constructor(private readonly breakGlass: BreakGlass) {}

  /** Break glass: revoke every lease matching `{environment?, role?, principal?}` and cancel matching open requests. */
  @Post('revoke')
  @HttpCode(200)
  @Idempotent({ storeBody: true, status: 200 })
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(BreakGlassSchema)) body: BreakGlassBody,
  ): Promise<BreakGlassResult> {
    return this.breakGlass.execute({ principal, body });
  }
}
