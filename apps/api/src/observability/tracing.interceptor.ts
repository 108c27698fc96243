import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { annotateSpan, inSpan } from '@leash/broker';

/**
 * One span per API call (installed only when traces are exported), active while the handler runs,
 * so the policy, store and provider spans below it and the revocation job it schedules join its
 * trace. Attributes: method, route, the HTTP request id, and the access request and lease ids the
 * route or answer names; never a body, a header or a credential.
 */
@Injectable()
export class TracingInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') {
      return next.handle();
    }
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    const route = req.routeOptions.url ?? 'unknown';
    const id = (req.params as Record<string, string> | undefined)?.id;
    const attributes = {
      'http.request.method': req.method,
      'http.route': route,
      'leash.http_request_id': String(req.id),
      ...(id && route.startsWith('/v1/requests/') ? { 'leash.request_id': id } : {}),
      ...(id && route.startsWith('/v1/leases/') ? { 'leash.lease_id': id } : {}),
    };
    // Subscribing inside the span makes it the active context for the whole handler.
    return from(
      inSpan(`${req.method} ${route}`, attributes, async () => {
        const body: unknown = await lastValueFrom(next.handle(), { defaultValue: undefined });
        annotateSpan({ 'http.response.status_code': reply.statusCode, ...idsOf(route, body) });
        return body;
      }),
    );
  }
}

function idsOf(route: string, body: unknown): Record<string, string> {
  if (typeof body !== 'object' || body === null) {
    return {};
  }
  const b = body as { id?: unknown; lease?: { id?: unknown } };
  return {
    ...(typeof b.lease?.id === 'string' ? { 'leash.lease_id': b.lease.id } : {}),
    ...(route === '/v1/requests' && typeof b.id === 'string' ? { 'leash.request_id': b.id } : {}),
  };
}
