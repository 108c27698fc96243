import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { assertUnreachable, CoreError, CoreErrorCode, LeashError } from '@leash/core';
import { ProblemType, type Problem } from '@leash/contracts';
import { ConfigError, ConfigErrorCode } from '@leash/config';
import { PolicyError, PolicyErrorCode } from '@leash/policy';
import { ApprovalError, ApprovalErrorCode, NotifierError, NotifierErrorCode } from '@leash/approvals';
import { LeaseError, LeaseErrorCode } from '@leash/leases';
import { AuditError, AuditErrorCode } from '@leash/audit';
import { ProviderError, ProviderErrorCode } from '@leash/providers';
import {
  AuthError,
  AuthErrorCode,
  ProviderUnavailableError,
  RevocationPendingError,
  type BrokerLogger,
} from '@leash/broker';
import { ValidationProblem } from './zod.pipe';

interface P {
  type: string;
  title: string;
  status: number;
  detail?: string;
  [extension: string]: unknown;
}
const p = (type: string, title: string, status: number, extra: Record<string, unknown> = {}): P => ({
  type,
  title,
  status,
  ...extra,
});

/** Maps every error to RFC 9457 problem+json; never a stack trace, never a secret. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(private readonly logger: BrokerLogger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<FastifyRequest>();
    const problem = this.toProblem(error);
    const body: Problem = {
      ...problem,
      detail: problem.detail ?? (error instanceof Error ? error.message : 'error'),
      instance: request.url.split('?')[0],
    };
    if (body.status >= 500) {
      this.logger.error('request failed', {
        url: body.instance,
        status: body.status,
        type: body.type,
        err: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
      });
    }
    if (body.status === 503) {
      void reply.header('retry-after', '1');
    } else if (typeof body.retryAfterSeconds === 'number') {
      void reply.header('retry-after', String(body.retryAfterSeconds));
    }
    void reply.status(body.status).header('content-type', 'application/problem+json').send(body);
  }

  toProblem(error: unknown): P {
    if (error instanceof ValidationProblem) {
      return p(ProblemType.Validation, 'Invalid request', 400, {
        errors: error.errors,
      });
    }
    if (error instanceof LeashError) {
      return this.domain(error as LeashError<string>);
    }
    if (error instanceof HttpException) {
      return this.http(error);
    }
    const fastifyError = error as {
      statusCode?: number;
      code?: string;
      message?: string;
    };
    if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
      return this.fastify(fastifyError.statusCode, fastifyError.code, fastifyError.message);
    }
    return p(ProblemType.Internal, 'Internal error', 500, {
      detail: 'an internal error occurred; see the broker log',
    });
  }

  private fastify(status: number, code: string | undefined, message: string | undefined): P {
    switch (code ?? '') {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return p(ProblemType.PayloadTooLarge, 'Payload too large', 413, {
          detail: 'the request body is too large',
        });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return p(ProblemType.UnsupportedMediaType, 'Unsupported media type', 415, {
          detail: 'send application/json',
        });
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return p(ProblemType.MalformedJson, 'Malformed JSON', 400, {
          detail: 'the JSON body is empty',
        });
      default:
        if (status === 400) {
          return p(ProblemType.MalformedJson, 'Malformed JSON', 400, {
            detail: `the request body is not valid JSON (${(message ?? '').slice(0, 120)})`,
          });
        }
        return p(ProblemType.Validation, 'Bad request', status, {
          detail: (message ?? 'bad request').slice(0, 200),
        });
    }
  }

  private http(error: HttpException): P {
    const status = error.getStatus();
    if (status === 404) {
      return p(ProblemType.NotFound, 'Not found', 404, {
        detail: 'no such resource',
      });
    }
    if (status === 413) {
      return p(ProblemType.PayloadTooLarge, 'Payload too large', 413, {
        detail: 'the request body is too large',
      });
    }
    if (status === 415) {
      return p(ProblemType.UnsupportedMediaType, 'Unsupported media type', 415, { detail: 'send application/json' });
    }
    if (status === 400 && /JSON/i.test(error.message)) {
      return p(ProblemType.MalformedJson, 'Malformed JSON', 400, {
        detail: 'the request body is not valid JSON',
      });
    }
    if (status >= 500) {
      return p(ProblemType.Internal, 'Internal error', status, {
        detail: 'an internal error occurred',
      });
    }
    return p(ProblemType.Validation, 'Bad request', status, {
      detail: error.message.slice(0, 200),
    });
  }

  private domain(error: LeashError): P {
    if (error instanceof CoreError) {
      return this.core(error);
    }
    if (error instanceof RevocationPendingError) {
      // Accepted, not failed: the revocation is kept and retried until the store records it.
      return p(ProblemType.RevocationPending, 'Revocation pending', 202, {
        detail: error.message,
        pendingLeases: error.pending.leases,
        ...(error.pending.sessionId ? { sessionId: error.pending.sessionId } : {}),
      });
    }
    if (error instanceof AuthError) {
      switch (error.code) {
        case AuthErrorCode.MissingToken:
        case AuthErrorCode.InvalidToken:
          return p(ProblemType.Unauthenticated, 'Not authenticated', 401);
        case AuthErrorCode.IssuerUnavailable:
          return p(ProblemType.Unavailable, 'Identity issuer unavailable', 503);
        default:
          return assertUnreachable(error.code);
      }
    }
    if (error instanceof PolicyError) {
      switch (error.code) {
        case PolicyErrorCode.Denied:
          return p(ProblemType.PolicyDenied, 'Denied by policy', 403, {
            decision: 'denied',
            reasons: error.details.reasons,
          });
        case PolicyErrorCode.Invalid:
        case PolicyErrorCode.Unavailable:
          return p(ProblemType.Unavailable, 'Policy unavailable', 503);
        default:
          return assertUnreachable(error.code);
      }
    }
    if (error instanceof ApprovalError) {
      return this.approval(error);
    }
    if (error instanceof LeaseError) {
      switch (error.code) {
        case LeaseErrorCode.StoreUnavailable:
          return p(ProblemType.Unavailable, 'Service unavailable', 503, {
            detail: 'the lease store is unavailable; no credential was issued',
          });
        case LeaseErrorCode.NotReplicated:
          return p(ProblemType.Unavailable, 'Service unavailable', 503, {
            detail: `${error.message}; the credential was revoked and is not returned`,
          });
        case LeaseErrorCode.Corrupt:
          return p(ProblemType.Internal, 'Internal error', 500);
        default:
          return assertUnreachable(error.code);
      }
    }
    if (error instanceof AuditError) {
      switch (error.code) {
        case AuditErrorCode.Unavailable:
          return p(ProblemType.Unavailable, 'Service unavailable', 503, {
            detail: 'the audit log is unavailable',
          });
        default:
          return assertUnreachable(error.code);
      }
    }
    if (error instanceof ProviderUnavailableError) {
      return p(ProblemType.ProviderUnavailable, 'Provider unavailable', 503, {
        detail: `the role's provider "${error.provider}" is ${error.state}, so nothing was requested: ${error.detail}`,
        provider: error.provider,
        providerState: error.state,
      });
    }
    if (error instanceof ProviderError) {
      switch (error.code) {
        case ProviderErrorCode.Retryable:
          return p(ProblemType.Unavailable, 'Provider unavailable', 503, {
            provider: error.provider,
            providerCode: error.providerCode,
          });
        case ProviderErrorCode.Permanent:
          return p(ProblemType.ProviderFailed, 'Provider refused', 502, {
            provider: error.provider,
            providerCode: error.providerCode,
          });
        case ProviderErrorCode.NotConfigured:
          return p(ProblemType.Unavailable, 'Provider not configured', 503, {
            provider: error.provider,
          });
        default:
          return assertUnreachable(error.code);
      }
    }
    if (error instanceof NotifierError) {
      switch (error.code) {
        case NotifierErrorCode.RateLimited:
        case NotifierErrorCode.Retryable:
        case NotifierErrorCode.Permanent:
          return p(ProblemType.Unavailable, 'Notifier unavailable', 503);
        default:
          return assertUnreachable(error.code);
      }
    }
    if (error instanceof ConfigError) {
      switch (error.code) {
        case ConfigErrorCode.Invalid:
          return p(ProblemType.Internal, 'Internal error', 500, {
            detail: 'configuration error',
          });
        default:
          return assertUnreachable(error.code);
      }
    }
    return p(ProblemType.Internal, 'Internal error', 500, {
      detail: 'an internal error occurred',
    });
  }

  private core(error: CoreError): P {
    switch (error.code) {
      case CoreErrorCode.Unauthenticated:
        return p(ProblemType.Unauthenticated, 'Not authenticated', 401);
      case CoreErrorCode.Forbidden:
        return p(ProblemType.Forbidden, 'Forbidden', 403);
      case CoreErrorCode.NotFound:
        return p(ProblemType.NotFound, 'Not found', 404);
      case CoreErrorCode.Conflict:
        if (error.details.claimInProgress) {
          return p(ProblemType.ClaimInProgress, 'Claim in progress', 409, {
            state: error.details.state,
            retryAfterSeconds: error.details.retryAfterSeconds,
          });
        }
        if (error.details.alreadyClaimed) {
          return p(ProblemType.AlreadyClaimed, 'Already claimed', 409, {
            state: error.details.state,
          });
        }
        if (error.details.policyChanged) {
          return p(ProblemType.PolicyChanged, 'Policy changed', 409, { state: error.details.state });
        }
        if (error.details.expired) {
          return p(ProblemType.Expired, 'Expired', 409, { state: 'expired' });
        }
        return p(ProblemType.Conflict, 'Conflict', 409, {
          state: error.details.state,
        });
      case CoreErrorCode.Invalid:
        return p(ProblemType.Validation, 'Invalid request', 400);
      case CoreErrorCode.Unavailable:
        return p(ProblemType.Unavailable, 'Service unavailable', 503);
      case CoreErrorCode.RateLimited:
        return p(ProblemType.RateLimited, 'Too many requests', 429);
      default:
        return assertUnreachable(error.code);
    }
  }

  private approval(error: ApprovalError): P {
    switch (error.code) {
      case ApprovalErrorCode.SelfApproval:
        return p(ProblemType.SelfApproval, 'Conflicted approver', 403);
      case ApprovalErrorCode.NotApprover:
        return p(ProblemType.NotApprover, 'Not an approver', 403, {
          requiredGroups: error.details.requiredGroups,
        });
      case ApprovalErrorCode.NotPending:
        return p(ProblemType.NotPending, 'Not pending', 409, {
          state: error.details.state,
        });
      case ApprovalErrorCode.AlreadyDecided:
        return p(ProblemType.Conflict, 'Already approved', 409);
      case ApprovalErrorCode.DigestMismatch:
        return p(ProblemType.Conflict, 'Request changed', 409);
      case ApprovalErrorCode.Expired:
        return p(ProblemType.Expired, 'Expired', 409, { state: 'expired' });
      case ApprovalErrorCode.BadSignature:
      case ApprovalErrorCode.Replayed:
        return p(ProblemType.BadSignature, 'Signature not accepted', 401);
      case ApprovalErrorCode.BadInteraction:
        return p(ProblemType.Validation, 'Unsupported interaction', 400);
      case ApprovalErrorCode.MfaRequired:
        return p(ProblemType.MfaRequired, 'MFA required', 403);
      case ApprovalErrorCode.ChannelNotAllowed:
        return p(ProblemType.ChannelNotAllowed, 'Channel not allowed', 403, { channels: error.details.channels });
      case ApprovalErrorCode.InvalidNarrowing:
        return p(ProblemType.Validation, 'Invalid narrowing', 400);
      default:
        return assertUnreachable(error.code);
    }
  }
}
