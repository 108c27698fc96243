import { Body, Controller, Inject, Post, Req, Res, UseFilters, UseGuards, UseInterceptors } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEV_ISSUER, type DevIssuer } from '@leash/broker';
import type { z } from 'zod';
import { ZodPipe } from '../http/zod.pipe';
import { IpRateLimitGuard } from '../tokens/ip-rate-limit.guard';
import { ConsoleErrorFilter } from './console-error.filter';
import { DevLoginFormSchema } from './console-forms.schema';
import { ConsoleHeadersInterceptor } from './console-headers.interceptor';
import { appendCookie, assertCsrf, readCookie, safeReturnTo, serializeCookie } from './console-http';
import { CONSOLE_SESSIONS, type ConsoleSessionStore } from './console-session.store';
import { CONSOLE_SETTINGS, type ConsoleSettings } from './console-settings';

/** Development sign-in for the demo: registered only when LEASH_DEV_ISSUER=true. */
@Controller('console/login')
@UseFilters(ConsoleErrorFilter)
@UseInterceptors(ConsoleHeadersInterceptor)
export class ConsoleDevLoginController {
  constructor(
    @Inject(CONSOLE_SESSIONS) private readonly sessions: ConsoleSessionStore,
    @Inject(CONSOLE_SETTINGS) private readonly settings: ConsoleSettings,
    @Inject(DEV_ISSUER) private readonly issuer: DevIssuer,
  ) {}

  @Post('dev')
  @UseGuards(IpRateLimitGuard)
  async devLogin(
    @Body(new ZodPipe(DevLoginFormSchema)) body: z.infer<typeof DevLoginFormSchema>,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    assertCsrf(readCookie(req, this.settings.preLoginCookieName), body._csrf);
    const groups = (body.groups ?? '')
      .split(/[\s,]+/)
      .filter((g) => /^[A-Za-z0-9._:-]{1,128}$/.test(g))
      .slice(0, 20);
    const { id } = await this.sessions.create({
      principal: {
        id: body.subject,
        issuer: this.issuer.issuer,
        groups,
        ...(body.email ? { email: body.email } : {}),
      },
      login: { mfa: body.mfa === 'yes', authTime: Date.now() },
      amr: body.mfa === 'yes' ? ['dev', 'mfa'] : ['dev'],
      dev: true,
      createdAt: Date.now(),
    });
    appendCookie(
      reply,
      serializeCookie(this.settings.cookieName, id, {
        secure: this.settings.secureCookies,
        maxAgeSeconds: this.settings.sessionTtlSeconds,
      }),
    );
    void reply.status(303).header('location', safeReturnTo(body.returnTo)).send();
  }
}
