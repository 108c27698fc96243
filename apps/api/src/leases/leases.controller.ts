import { Controller, Delete, Get, Param, Query, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Principal } from '@leash/core';
import { IdParamSchema, ListLeasesQuerySchema, type LeaseView, type ListLeasesQuery } from '@leash/contracts';
import { LeaseQueries, RevokeLeaseNow } from '@leash/broker';
import { BearerAuthGuard, CurrentPrincipal } from '../http/auth.guard';
import { ZodPipe } from '../http/zod.pipe';

const idPipe = new ZodPipe(IdParamSchema, 'path.id');

@Controller('v1/leases')
@UseGuards(BearerAuthGuard)
export class LeasesController {
  constructor(
    private readonly queries: LeaseQueries,
    private readonly revokeNow: RevokeLeaseNow,
  ) {}

  @Get()
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodPipe(ListLeasesQuerySchema, 'query')) query: ListLeasesQuery,
  ): Promise<{ leases: LeaseView[]; next?: string }> {
    return this.queries.page(principal, query);
  }

  @Get(':id')
  get(@CurrentPrincipal() principal: Principal, @Param('id', idPipe) id: string): Promise<LeaseView> {
    return this.queries.get(principal, id);
  }

  /** Revokes now: 200 when revoked, 202 when the provider refused and the worker is retrying. */
  @Delete(':id')
  async revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('id', idPipe) id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<LeaseView> {
    const result = await this.revokeNow.execute({ principal, id });
    void reply.status(result.pending ? 202 : 200);
    return result.lease;
  }
}
