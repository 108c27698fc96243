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
import { Idempotent, IdempotencyInterceptor } from '../http/idempotency.interceptor';
import { ZodPipe } from '../http/zod.pipe';

const idPipe = new ZodPipe(IdParamSchema, 'path.id');

@Controller('v1/requests')
@UseGuards(BearerAuthGuard)
@UseInterceptors(IdempotencyInterceptor)
export class RequestsController {
  constructor(
    private readonly create: CreateAccessRequest,
    private readonly get: GetAccessRequest,
    private readonly decide: DecideRequest,
    private readonly claim: ClaimCredential,
    private readonly cancel: CancelRequest,
  ) {}

  @Post()
  @Idempotent({ storeBody: true, status: 201 })
  createRequest(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(CreateRequestSchema)) body: CreateRequestBody,
  ): Promise<RequestView> {
    return this.create.execute({ principal, body });
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
  @Idempotent({ storeBody: true, status: 200 })
  approve(
    @CurrentPrincipal() principal: Principal,
    @Param('id', idPipe) id: string,
    @Body(new ZodPipe(DecisionSchema.optional()))
    body: DecisionBody | undefined,
  ): Promise<RequestView> {
    return this.decide.execute({
      principal,
      id,
      decision: 'approve',
      comment: body?.comment,
      ttlSeconds: body?.ttlSeconds,
      channel: 'api',
    });
  }

  @Post(':id/deny')
  @HttpCode(200)
  @Idempotent({ storeBody: true, status: 200 })
  deny(
    @CurrentPrincipal() principal: Principal,
    @Param('id', idPipe) id: string,
    @Body(new ZodPipe(DecisionSchema.optional()))
    body: DecisionBody | undefined,
  ): Promise<RequestView> {
    return this.decide.execute({
      principal,
      id,
      decision: 'deny',
      comment: body?.comment,
      ttlSeconds: body?.ttlSeconds,
      channel: 'api',
    });
  }

  @Post(':id/credentials')
  @Idempotent({ storeBody: false, status: 201 })
  claimCredential(@CurrentPrincipal() principal: Principal, @Param('id', idPipe) id: string): Promise<ClaimResponse> {
    return this.claim.execute({ principal, id });
  }

  @Delete(':id')
  @Idempotent({ storeBody: true, status: 200 })
  cancelRequest(@CurrentPrincipal() principal: Principal, @Param('id', idPipe) id: string): Promise<RequestView> {
    return this.cancel.execute({ principal, id });
  }
}
