import { createParamDecorator, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CoreError, CoreErrorCode } from '@leash/core';
import { CONSOLE_SESSIONS, type ConsoleSession, type ConsoleSessionStore } from './console-session.store';
import { readCookie } from './console-http';
import { CONSOLE_SETTINGS, type ConsoleSettings } from './console-settings';

export type ConsoleRequest = FastifyRequest & { consoleSession?: ConsoleSession; consoleSessionId?: string };

/** Requires a console session (cookie → Redis); without one, pages redirect to the login page. */
@Injectable()
export class ConsoleSessionGuard implements CanActivate {
  constructor(
    @Inject(CONSOLE_SESSIONS) private readonly sessions: ConsoleSessionStore,
    @Inject(CONSOLE_SETTINGS) private readonly settings: ConsoleSettings,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<ConsoleRequest>();
    const id = readCookie(request, this.settings.cookieName);
    const session = id && /^[A-Za-z0-9_-]{20,100}$/.test(id) ? await this.sessions.get(id) : undefined;
    if (!id || !session) {
      throw new CoreError(CoreErrorCode.Unauthenticated, 'sign in to use the approver console', { console: true });
    }
    request.consoleSession = session;
    request.consoleSessionId = id;
    return true;
  }
}

export const CurrentSession = createParamDecorator((_: unknown, ctx: ExecutionContext): ConsoleSession => {
  const session = ctx.switchToHttp().getRequest<ConsoleRequest>().consoleSession;
  if (!session) {
    throw new CoreError(CoreErrorCode.Unauthenticated, 'sign in to use the approver console');
  }
  return session;
});
