import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pino, type Logger as Pino } from 'pino';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import type { DynamicModule } from '@nestjs/common';
import { redact, type Principal } from '@leash/core';
import type { BrokerLogger } from '@leash/broker';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The API's one pino logger: JSON lines on stdout, ISO time, level names, and every logged object
 * passed through the same redaction rules as the rest of Leash (`redact` in @leash/core), so
 * authorization headers, tokens, credentials and Slack secrets never reach the log.
 */
export function createApiPino(level: string, destination: pino.DestinationStream = new TurnBatchedStdout()): Pino {
  return pino(
    {
      level,
      base: { service: 'leash-api' },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        // Fastify's req/res serializers (method, url, status; never headers) run after this hook, so
        // those two keep their live objects; everything else goes through the shared redaction.
        log: ({ req, res, ...rest }) => ({
          ...(redact(rest) as Record<string, unknown>),
          ...(req !== undefined ? { req } : {}),
          ...(res !== undefined ? { res } : {}),
        }),
      },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? (redact(a) as string) : a)) as Parameters<typeof method>,
          );
        },
      },
    },
    destination,
  );
}

/**
 * Stdout for the API's log lines: the lines of one event-loop turn leave in one write(2), made at the end of that
 * turn (setImmediate), instead of one write each. A write per line (two request lines per issuance) was ~4–9 % of
 * the API's CPU under the issuance load (bench/RESULTS.md, r2-issuance). Lines are not held longer than the turn
 * that logged them, keep their order, and what is pending is written synchronously when the process exits.
 */
export class TurnBatchedStdout implements pino.DestinationStream {
  private pending = '';
  private scheduled = false;

  constructor(private readonly out: pino.DestinationStream = pino.destination({ dest: 1, sync: true })) {
    process.once('exit', () => this.flush());
  }

  write(line: string): void {
    this.pending += line;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is pending now (pino's `logger.flush(cb)` calls it with a callback). */
  flush(done?: (err?: Error) => void): void {
    this.scheduled = false;
    if (this.pending !== '') {
      const lines = this.pending;
      this.pending = '';
      this.out.write(lines);
    }
    done?.();
  }
}

/**
 * Request ids: a well-formed incoming `x-request-id` is kept (so a trace spans services), otherwise
 * a UUID; Fastify binds it to every request log line as `reqId`.
 */
export function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * The one log line of a request (Fastify's own request logging is off): method, url and client address of the
 * request, status and response time of the answer, and the authenticated caller when there is one. Other lines
 * of the same request carry the same `reqId`. One line instead of Fastify's two ("incoming request" + "request
 * completed") and no child logger per request: logging was a tenth of the API's CPU time under the issuance load
 * (bench/RESULTS.md).
 */
export function logRequestCompleted(
  request: FastifyRequest & { principal?: Principal },
  reply: FastifyReply,
  done: () => void,
): void {
  const principal = request.principal;
  request.log.info(
    {
      req: request,
      res: reply,
      responseTime: reply.elapsedTime,
      ...(principal ? { principal: principal.id, issuer: principal.issuer } : {}),
    },
    'request completed',
  );
  done();
}

/**
 * nestjs-pino over the same pino instance Fastify logs requests with (`useExisting`): Nest's own
 * log lines and the request lines ("request completed", with reqId, status and response time)
 * share one logger and one redaction rule set.
 */
export function apiLoggerModule(logger: Pino): DynamicModule {
  return LoggerModule.forRoot({ pinoHttp: { logger }, useExisting: true });
}

/** The broker's logger in the API: pino, bound to the current request's id and principal when there is one. */
export class PinoBrokerLogger implements BrokerLogger {
  private readonly pino: PinoLogger;

  constructor(logger: Pino) {
    this.pino = new PinoLogger({ pinoHttp: { logger } });
  }

  debug(message: string, context: Record<string, unknown> = {}): void {
    this.pino.logger.debug(context, message);
  }
  log(message: string, context: Record<string, unknown> = {}): void {
    this.pino.logger.info(context, message);
  }
  warn(message: string, context: Record<string, unknown> = {}): void {
    this.pino.logger.warn(context, message);
  }
  error(message: string, context: Record<string, unknown> = {}): void {
    this.pino.logger.error(context, message);
  }
}
