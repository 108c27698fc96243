import { Controller, Get, Post, Query, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Principal } from '@leash/core';
import { ListAuditQuerySchema, ListCheckpointsQuerySchema, type ListAuditQuery } from '@leash/contracts';
import { AuditTrail } from '@leash/broker';
import { BearerAuthGuard, CurrentPrincipal } from '../http/auth.guard';
import { ZodPipe } from '../http/zod.pipe';

/** The audit trail, for members of the policy's admins group. */
@Controller('v1/audit')
@UseGuards(BearerAuthGuard)
export class AuditController {
  constructor(private readonly audit: AuditTrail) {}

  /** Events in seq order, filtered; follow `nextCursor` with `?cursor=`. */
  @Get()
  list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodPipe(ListAuditQuerySchema, 'query')) q: ListAuditQuery,
  ): Promise<unknown> {
    const { cursor, limit, ...filters } = q;
    return this.audit.list(principal, { ...filters, after: cursor, limit: limit ?? 100 });
  }

  /** Verifies the whole stored chain and every stored checkpoint; 200 either way, `ok` says which. */
  @Get('verify')
  verify(@CurrentPrincipal() principal: Principal): Promise<unknown> {
    return this.audit.verify(principal);
  }

  @Get('checkpoints')
  async checkpoints(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodPipe(ListCheckpointsQuerySchema, 'query')) q: { limit?: number },
  ): Promise<unknown> {
    return { checkpoints: await this.audit.listCheckpoints(principal, q.limit ?? 100) };
  }

  /** Signs the current chain head now. */
  @Post('checkpoints')
  async checkpointNow(
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    const checkpoint = await this.audit.checkpointNow(principal);
    void reply.status(201);
    return checkpoint;
  }

  /** Export sinks: acknowledged cursor, backlog and dead letters. */
  @Get('sinks')
  async sinks(@CurrentPrincipal() principal: Principal): Promise<unknown> {
    return { sinks: await this.audit.sinkStatus(principal) };
  }
}
