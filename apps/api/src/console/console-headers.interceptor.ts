import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Observable } from 'rxjs';
import { securityHeaders } from './console-http';

/** Puts the console's security headers on every response of the console's controllers. */
@Injectable()
export class ConsoleHeadersInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    securityHeaders(context.switchToHttp().getResponse<FastifyReply>());
    return next.handle();
  }
}
