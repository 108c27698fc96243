import { Catch, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CoreError, CoreErrorCode, JsonLogger } from '@leash/core';
import { ProblemFilter } from '../http/problem.filter';
import { API_LOGGER } from '../http/api-logger';
import { securityHeaders } from './console-http';
import type { ConsoleRequest } from './console-session.guard';
import { errorPage } from './views/layout.view';

/**
 * Errors on console routes become HTML pages with the same status the API would give (the
 * problem+json mapping decides it); a missing session on a page sends the browser to log in.
 */
@Catch()
export class ConsoleErrorFilter implements ExceptionFilter {
  private readonly problems: ProblemFilter;

  constructor(@Inject(API_LOGGER) private readonly logger: JsonLogger) {
    this.problems = new ProblemFilter(logger);
  }

  catch(error: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<ConsoleRequest>();
    securityHeaders(reply);
    if (
      error instanceof CoreError &&
      error.code === CoreErrorCode.Unauthenticated &&
      error.details.console === true &&
      request.method === 'GET' &&
      !request.url.startsWith('/console/fragments/')
    ) {
      // No session on a page: send the browser to sign in and bring it back afterwards.
      void reply
        .status(302)
        .header('location', `/console/login?returnTo=${encodeURIComponent(request.url)}`)
        .send();
      return;
    }
    // Browsers ask for HTML; scripts and other clients get the API's problem+json.
    const accept = request.headers.accept ?? '';
    const wantsJson = request.url.startsWith('/console/fragments/') || !/text\/html/i.test(accept);
    if (wantsJson) {
      this.problems.catch(error, host);
      return;
    }
    const problem = this.problems.toProblem(error);
    if (problem.status >= 500) {
      this.logger.error('console request failed', {
        url: request.url.split('?')[0],
        status: problem.status,
        err: error instanceof Error ? { name: error.name, message: error.message } : String(error),
      });
    }
    const detail =
      problem.status >= 500 && problem.status !== 503
        ? 'Something went wrong on the server; the operators have the details.'
        : (problem.detail ?? (error instanceof Error ? error.message : 'error'));
    void reply
      .status(problem.status)
      .header('content-type', 'text/html; charset=utf-8')
      .send(errorPage(problem.status, problem.title, detail, request.consoleSession).value);
  }
}
