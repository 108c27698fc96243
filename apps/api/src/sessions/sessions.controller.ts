import { Body, Controller, Delete, HttpCode, Param, Post, UseGuards, UseInterceptors } from '@nestjs/common';
import type { Principal } from '@leash/core';
import {
  RegisterSessionSchema,
  SessionIdParamSchema,
  type RegisterSessionBody,
  type SessionView,
} from '@leash/contracts';
import { HeartbeatSession, RegisterSession, RevokeSession, type SessionRevocation } from '@leash/broker';
import { BearerAuthGuard, CurrentPrincipal } from '../http/auth.guard';
import { Idempotent, IdempotencyInterceptor } from '../http/idempotency.interceptor';
import { ZodPipe } from '../http/zod.pipe';

const sessionIdPipe = new ZodPipe(SessionIdParamSchema, 'path.id');

@Controller('v1/sessions')
@UseGuards(BearerAuthGuard)
@UseInterceptors(IdempotencyInterceptor)
export class SessionsController {
  constructor(
    private readonly registerSession: RegisterSession,
    private readonly heartbeatSession: HeartbeatSession,
    private readonly revokeSession: RevokeSession,
  ) {}

  @Post()
  @Idempotent({ storeBody: true, status: 201 })
  register(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(RegisterSessionSchema)) body: RegisterSessionBody,
  ): Promise<SessionView> {
    return this.registerSession.execute({ principal, body });
  }

  @Post(':id/heartbeat')
  @HttpCode(200)
  heartbeat(
    @CurrentPrincipal() principal: Principal,
    @Param('id', sessionIdPipe) sessionId: string,
  ): Promise<SessionView> {
    return this.heartbeatSession.execute({ principal, sessionId });
  }

  @Delete(':id')
  @Idempotent({ storeBody: true, status: 200 })
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('id', sessionIdPipe) sessionId: string,
  ): Promise<SessionRevocation> {
    return this.revokeSession.execute({ principal, sessionId });
  }
}
