import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import type { Principal } from '@leash/core';

/** After authentication, binds the caller's principal to the request's log lines (including "request completed"). */
@Injectable()
export class PrincipalLogInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & { principal?: Principal }>();
    const reply = http.getResponse<FastifyReply>();
    const principal = request.principal;
    if (principal && request.log && reply.log) {
      const bindings = { principal: principal.id, issuer: principal.issuer };
      request.log = request.log.child(bindings);
      reply.log = reply.log.child(bindings);
    }
    return next.handle();
  }
}
