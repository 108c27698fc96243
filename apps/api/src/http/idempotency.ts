import { createParamDecorator, Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { canonicalDigest, CoreError, CoreErrorCode, type Principal } from '@leash/core';
import { IdempotencyStore } from '@leash/leases';
import { ValidationProblem } from './zod.pipe';

export const IDEMPOTENCY_STORE = Symbol('IdempotencyStore');

/** How a mutating route honours `Idempotency-Key`; `storeBody: false` for responses holding secrets. */
export interface IdempotencyOptions {
  storeBody: boolean;
  status: number;
}

/** The request and reply of the call a route handler is answering (for IdempotentCalls.run). */
export interface HttpCall {
  request: FastifyRequest & { principal?: Principal };
  reply: FastifyReply;
}

/** Route parameter: the call's request and reply. */
export const CurrentCall = createParamDecorator((_: unknown, ctx: ExecutionContext): HttpCall => ({
  request: ctx.switchToHttp().getRequest(),
  reply: ctx.switchToHttp().getResponse(),
}));

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * `Idempotency-Key` on mutating routes: the first call with a key runs and its answer is kept (its status and,
 * unless it holds a secret, its body) for that caller, method and path; a repeat with the same body gets the same
 * answer (`idempotent-replayed: true`), with another body 400, while the first still runs 409, and a repeat of a
 * call whose answer held a secret 409 (secrets are returned once). A call that fails frees its key.
 *
 * The route handler calls `run` itself (it was a Nest interceptor: every call of the controller, with a key or not,
 * then went through an rxjs observable chain, a tenth of the API's CPU per issuance; bench/RESULTS.md, r2-issuance).
 * A call without a key runs the handler and nothing else. The route's pipes have validated its input before.
 */
@Injectable()
export class IdempotentCalls {
  constructor(@Inject(IDEMPOTENCY_STORE) private readonly store: IdempotencyStore) {}

  async run<T>(call: HttpCall, options: IdempotencyOptions, handler: () => Promise<T>): Promise<T> {
    const { request, reply } = call;
    const header = request.headers['idempotency-key'];
    if (header === undefined || !request.principal) {
      return handler();
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
    const claim = await this.store.claim(scope, key, fingerprint);
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
        return claim.body as T;
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
        break;
    }
    try {
      const body = await handler();
      await this.store.complete(scope, key, fingerprint, options.status, options.storeBody ? body : null);
      return body;
    } catch (err) {
      await this.store.release(scope, key);
      throw err;
    }
  }
}

function bodyFingerprint(body: unknown): string {
  try {
    return canonicalDigest(body ?? null);
  } catch {
    throw new ValidationProblem([{ field: 'body', message: 'contains a number JSON cannot represent (out of range)' }]);
  }
}
