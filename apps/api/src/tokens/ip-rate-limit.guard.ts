import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CoreError, CoreErrorCode } from '@leash/core';
import { RATE_LIMITER } from '../http/auth.guard';
import type { RateLimiter } from '../http/rate-limiter';

/** Rate limit for unauthenticated endpoints, keyed by client address. */
@Injectable()
export class IpRateLimitGuard implements CanActivate {
  constructor(@Inject(RATE_LIMITER) private readonly limiter: RateLimiter) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!this.limiter.take(`ip|${request.ip}`)) {
      throw new CoreError(CoreErrorCode.RateLimited, 'rate limit exceeded; slow down');
    }
    return true;
  }
}
