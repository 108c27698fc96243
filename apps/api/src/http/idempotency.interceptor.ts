import {
  Inject,
  Injectable,
  SetMetadata,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, Observable, of, switchMap, catchError, throwError } from 'rxjs';
import { canonicalDigest, CoreError, CoreErrorCode, type Principal } from '@leash/core';
import { IdempotencyStore } from '@leash/leases';
import { ValidationProblem } from './zod.pipe';

export const IDEMPOTENCY_STORE = Symbol('IdempotencyStore');
const IDEMPOTENT = 'leash:idempotent';

/** Marks a mutating route as honouring `Idempotency-Key`; `storeBody: false` for responses holding secrets. */
export const Idempotent = (options: { storeBody: boolean; status: number }) => SetMetadata(IDEMPOTENT, options);

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    @Inject(IDEMPOTENCY_STORE) private readonly store: IdempotencyStore,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options = this.reflector.get<{ storeBody: boolean; status: number } | undefined>(
      IDEMPOTENT,
      context.getHandler(),
    );
    const request = context.switchToHttp().getRequest<FastifyRequest & { principal?: Principal }>();
    const header = request.headers['idempotency-key'];
    if (!options || header === undefined || !request.principal) {
      return next.handle();
    }
    const key = Array.isArray(header) ? header[0] : header;
    if (!KEY_PATTERN.test(key)) {
      throw new ValidationProblem([
        {
          field: 'header.Idempotency-Key',
          message: 'must be 1-255 printable characters',
        },
      ]);
    }
    const scope = `${canonicalDigest([request.principal.issuer, request.principal.id]).slice(0, 24)}:${request.method}:${request.url.split('?')[0]}`;
    const fingerprint = bodyFingerprint(request.body);
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return from(this.store.claim(scope, key, fingerprint)).pipe(
      switchMap((claim) => {
        switch (claim.state) {
          case 'replay':
            if (claim.body === null) {
              throw new CoreError(
                CoreErrorCode.Conflict,
                'this Idempotency-Key already issued a credential; secrets are returned once and never stored',
                { alreadyClaimed: true, state: 'issued' },
              );
            }
            void reply.status(claim.status).header('idempotent-replayed', 'true');
            return of(claim.body);
          case 'in_progress':
            throw new CoreError(CoreErrorCode.Conflict, 'a call with this Idempotency-Key is still in progress');
          case 'mismatch':
            throw new ValidationProblem([
              {
                field: 'header.Idempotency-Key',
                message: 'was already used with a different request body',
              },
            ]);
          case 'new':
            return next.handle().pipe(
              switchMap((body: unknown) =>
                from(
                  this.store.complete(scope, key, fingerprint, options.status, options.storeBody ? body : null),
                ).pipe(switchMap(() => of(body))),
              ),
              catchError((err: unknown) =>
                from(this.store.release(scope, key)).pipe(switchMap(() => throwError(() => err))),
              ),
            );
        }
      }),
    );
  }
}

/** Digest of the body a key is bound to; a body JSON cannot represent canonically (e.g. 1e400) is a 400. */
function bodyFingerprint(body: unknown): string {
  try {
    return canonicalDigest(body ?? null);
  } catch {
    throw new ValidationProblem([{ field: 'body', message: 'contains a number JSON cannot represent (out of range)' }]);
  }
}
