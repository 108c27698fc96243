import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
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
    private readonly reportEvent: ReportSessionEvent,
    private readonly dashboards: SessionDashboardQueries,
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

  /** What the agent is doing (workflow step, log line): the session's own principal only. */
  @Post(':id/events')
  @Idempotent({ storeBody: true, status: 201 })
  event(
    @CurrentPrincipal() principal: Principal,
    @Param('id', sessionIdPipe) sessionId: string,
    @Body(new ZodPipe(SessionEventSchema)) body: SessionEventBody,
  ): Promise<SessionEventView> {
    return this.reportEvent.execute({ principal, sessionId, body });
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
