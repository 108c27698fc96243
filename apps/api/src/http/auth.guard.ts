import { createParamDecorator, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CoreError, CoreErrorCode, type Principal } from '@leash/core';
import { AUTHENTICATOR, type PrincipalAuthenticator } from '@leash/broker';
import { RateLimiter } from './rate-limiter';

export const RATE_LIMITER = Symbol('RateLimiter');

type AuthedRequest = FastifyRequest & { principal?: Principal };

/** Requires a valid bearer identity token and applies the per-principal rate limit. */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    @Inject(AUTHENTICATOR)
    private readonly authenticator: PrincipalAuthenticator,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const principal = await this.authenticator.authenticate(request.headers.authorization);
    if (!this.limiter.take(`${principal.issuer}|${principal.id}`)) {
      throw new CoreError(CoreErrorCode.RateLimited, 'rate limit exceeded for this principal; slow down');
    }
    request.principal = principal;
    return true;
  }
}

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!principal) {
    throw new CoreError(CoreErrorCode.Unauthenticated, 'not authenticated');
  }
  return principal;
});
