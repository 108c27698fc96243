import { Controller, Delete, Param, UseGuards } from '@nestjs/common';
import type { Principal } from '@leash/core';
import { SessionIdParamSchema } from '@leash/contracts';
import { RevokeSession, type SessionRevocation } from '@leash/broker';
import { BearerAuthGuard, CurrentPrincipal } from '../http/auth.guard';
import { ZodPipe } from '../http/zod.pipe';

@Controller('v1/sessions')
@UseGuards(BearerAuthGuard)
export class SessionsController {
  constructor(private readonly revokeSession: RevokeSession) {}

  @Delete(':id')
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new ZodPipe(SessionIdParamSchema, 'path.id'))
    sessionId: string,
  ): Promise<SessionRevocation> {
    return this.revokeSession.execute({ principal, sessionId });
  }
}
