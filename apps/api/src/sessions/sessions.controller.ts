import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import type { Principal } from '@leash/core';
import {
  RegisterSessionSchema,
  SessionEventSchema,
  SessionEventsQuerySchema,
  SessionIdParamSchema,
  type RegisterSessionBody,
  type SessionEventBody,
  type SessionEventsQuery,
  type SessionEventView,
  type SessionView,
} from '@leash/contracts';
import {
  HeartbeatSession,
  RegisterSession,
  ReportSessionEvent,
  RevokeSession,
  SessionDashboardQueries,
  type SessionRevocation,
} from '@leash/broker';
import { BearerAuthGuard, CurrentPrincipal } from '../http/auth.guard';
import { CurrentCall, IdempotentCalls, type HttpCall } from '../http/idempotency';
import { ZodPipe } from '../http/zod.pipe';

const sessionIdPipe = new ZodPipe(SessionIdParamSchema, 'path.id');

@Controller('v1/sessions')
@UseGuards(BearerAuthGuard)
export class SessionsController {
  constructor(
    private readonly registerSession: RegisterSession,
    private readonly heartbeatSession: HeartbeatSession,
    private readonly revokeSession: RevokeSession,
    private readonly reportEvent: ReportSessionEvent,
    private readonly dashboards: SessionDashboardQueries,
    private readonly idempotent: IdempotentCalls,
  ) {}

  @Post()
  register(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(RegisterSessionSchema)) body: RegisterSessionBody,
    @CurrentCall() call: HttpCall,
  ): Promise<SessionView> {
    return this.idempotent.run(call, { storeBody: true, status: 201 }, () =>
      this.registerSession.execute({ principal, body }),
    );
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
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('id', sessionIdPipe) sessionId: string,
    @CurrentCall() call: HttpCall,
  ): Promise<SessionRevocation> {
    return this.idempotent.run(call, { storeBody: true, status: 200 }, () =>
      this.revokeSession.execute({ principal, sessionId }),
    );
  }

  /** What the agent is doing (workflow step, log line): the session's own principal only. */
  @Post(':id/events')
  event(
    @CurrentPrincipal() principal: Principal,
    @Param('id', sessionIdPipe) sessionId: string,
    @Body(new ZodPipe(SessionEventSchema)) body: SessionEventBody,
    @CurrentCall() call: HttpCall,
  ): Promise<SessionEventView> {
    return this.idempotent.run(call, { storeBody: true, status: 201 }, () =>
      this.reportEvent.execute({ principal, sessionId, body }),
    );
  }

  /** The session's events, oldest first (`after` an event id for the ones since). */
  @Get(':id/events')
  async events(
    @CurrentPrincipal() principal: Principal,
    @Param('id', sessionIdPipe) sessionId: string,
    @Query(new ZodPipe(SessionEventsQuerySchema, 'query')) query: SessionEventsQuery,
  ): Promise<{ events: SessionEventView[] }> {
    return { events: await this.dashboards.eventFeed(principal, sessionId, query) };
  }
}
