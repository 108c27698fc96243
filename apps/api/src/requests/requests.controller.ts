import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import type { Principal } from '@leash/core';
import {
  CreateRequestSchema,
  DecisionSchema,
  GetRequestQuerySchema,
  IdParamSchema,
  type ClaimResponse,
  type CreateRequestBody,
  type DecisionBody,
  type RequestView,
} from '@leash/contracts';
import { CancelRequest, ClaimCredential, CreateAccessRequest, DecideRequest, GetAccessRequest } from '@leash/broker';
import { BearerAuthGuard, CurrentPrincipal } from '../http/auth.guard';
import { CurrentCall, IdempotentCalls, type HttpCall } from '../http/idempotency';
import { ZodPipe } from '../http/zod.pipe';

const idPipe = new ZodPipe(IdParamSchema, 'path.id');

@Controller('v1/requests')
@UseGuards(BearerAuthGuard)
export class RequestsController {
  constructor(
    private readonly create: CreateAccessRequest,
    private readonly get: GetAccessRequest,
    private readonly decide: DecideRequest,
    private readonly claim: ClaimCredential,
    private readonly cancel: CancelRequest,
    private readonly idempotent: IdempotentCalls,
  ) {}

  @Post()
  createRequest(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(CreateRequestSchema)) body: CreateRequestBody,
    @CurrentCall() call: HttpCall,
  ): Promise<RequestView> {
    return this.idempotent.run(call, { storeBody: true, status: 201 }, () => this.create.execute({ principal, body }));
  }

  @Get(':id')
  getRequest(
    @CurrentPrincipal() principal: Principal,
    @Param('id', idPipe) id: string,
    @Query(new ZodPipe(GetRequestQuerySchema, 'query'))
    query: { waitSeconds?: number },
  ): Promise<RequestView> {
    return this.get.execute({ principal, id, waitSeconds: query.waitSeconds });
  }

  @Post(':id/approve')
  @HttpCode(200)
  approve(
    @CurrentPrincipal() principal: Principal,
    @Param('id', idPipe) id: string,
    @Body(new ZodPipe(DecisionSchema.optional()))
    body: DecisionBody | undefined,
    @CurrentCall() call: HttpCall,
  ): Promise<RequestView> {
    return this.decideOnce(call, principal, id, 'approve', body);
  }

  @Post(':id/deny')
  @HttpCode(200)
  deny(
    @CurrentPrincipal() principal: Principal,
    @Param('id', idPipe) id: string,
    @Body(new ZodPipe(DecisionSchema.optional()))
    body: DecisionBody | undefined,
    @CurrentCall() call: HttpCall,
  ): Promise<RequestView> {
    return this.decideOnce(call, principal, id, 'deny', body);
  }

  @Post(':id/credentials')
  claimCredential(
    @CurrentPrincipal() principal: Principal,
    @Param('id', idPipe) id: string,
    @CurrentCall() call: HttpCall,
  ): Promise<ClaimResponse> {
    // The answer holds the secret: a repeat of the key is refused, never replayed.
    return this.idempotent.run(call, { storeBody: false, status: 201 }, () => this.claim.execute({ principal, id }));
  }

  @Delete(':id')
  cancelRequest(
    @CurrentPrincipal() principal: Principal,
    @Param('id', idPipe) id: string,
    @CurrentCall() call: HttpCall,
  ): Promise<RequestView> {
    return this.idempotent.run(call, { storeBody: true, status: 200 }, () => this.cancel.execute({ principal, id }));
  }

  /** An approval or denial through the API, honouring its Idempotency-Key. */
  private decideOnce(
    call: HttpCall,
    principal: Principal,
    id: string,
    decision: 'approve' | 'deny',
    body: DecisionBody | undefined,
  ): Promise<RequestView> {
    return this.idempotent.run(call, { storeBody: true, status: 200 }, () =>
      this.decide.execute({
        principal,
        id,
        decision,
        comment: body?.comment,
        ttlSeconds: body?.ttlSeconds,
        channel: 'api',
      }),
    );
  }
}
