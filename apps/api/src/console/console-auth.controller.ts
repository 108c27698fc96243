import { randomBytes } from 'node:crypto';
import {
  Body,
  Controller,
  Get,
  Inject,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CoreError, CoreErrorCode } from '@leash/core';
import { Identities } from '@leash/broker';
import type { z } from 'zod';
import { ZodPipe } from '../http/zod.pipe';
import { ConsoleErrorFilter } from './console-error.filter';
import { CsrfFormSchema, LoginQuerySchema } from './console-forms.schema';
import { ConsoleHeadersInterceptor } from './console-headers.interceptor';
import { appendCookie, assertCsrf, readCookie, safeReturnTo, serializeCookie } from './console-http';
import { ConsoleSessionGuard, type ConsoleRequest } from './console-session.guard';
import { CONSOLE_SESSIONS, type ConsoleSessionStore } from './console-session.store';
import { CONSOLE_SETTINGS, type ConsoleSettings } from './console-settings';
import { OIDC_LOGIN, type OidcLogin } from './oidc-login.service';
import { loginPage } from './views/login.view';

const NOTICES = { 'signed-out': 'You are signed out.', expired: 'Your sign-in expired; sign in again.' } as const;

/** Console sign-in with the configured IdP (code + PKCE), and sign-out. */
@Controller('console')
@UseFilters(ConsoleErrorFilter)
@UseInterceptors(ConsoleHeadersInterceptor)
export class ConsoleAuthController {
  constructor(
    @Inject(CONSOLE_SESSIONS) private readonly sessions: ConsoleSessionStore,
    @Inject(CONSOLE_SETTINGS) private readonly settings: ConsoleSettings,
    @Inject(OIDC_LOGIN) private readonly oidc: OidcLogin | undefined,
    private readonly identities: Identities,
  ) {}

  @Get('login')
  login(
    @Query(new ZodPipe(LoginQuerySchema, 'query')) query: z.infer<typeof LoginQuerySchema>,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): void {
    let dev: { csrf: string } | undefined;
    if (this.settings.devLogin) {
      // Login CSRF: the development form must carry the value of this cookie (double submit).
      const existing = readCookie(req, this.settings.preLoginCookieName);
      const csrf = existing && /^[A-Za-z0-9_-]{43}$/.test(existing) ? existing : randomBytes(32).toString('base64url');
      appendCookie(
        reply,
        serializeCookie(this.settings.preLoginCookieName, csrf, {
          secure: this.settings.secureCookies,
          maxAgeSeconds: 3600,
        }),
      );
      dev = { csrf };
    }
    const page = loginPage({
      oidc: this.oidc !== undefined,
      ...(dev ? { dev } : {}),
      returnTo: safeReturnTo(query.returnTo),
      ...(query.notice ? { notice: NOTICES[query.notice] } : {}),
    });
    void reply.header('content-type', 'text/html; charset=utf-8').send(page.value);
  }

  @Get('login/oidc')
  async startOidc(
    @Query(new ZodPipe(LoginQuerySchema, 'query')) query: z.infer<typeof LoginQuerySchema>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!this.oidc) {
      throw new CoreError(
        CoreErrorCode.NotFound,
        'no identity provider is configured for the console (LEASH_OIDC_ISSUER)',
      );
    }
    const started = await this.oidc.start(safeReturnTo(query.returnTo), query.mfa === '1');
    await this.sessions.beginLogin(started.state, started.pending);
    void reply.status(302).header('location', started.url).send();
  }

  @Get('callback')
  async callback(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!this.oidc) {
      throw new CoreError(CoreErrorCode.NotFound, 'no identity provider is configured for the console');
    }
    const url = new URL(`${this.settings.publicUrl}${req.url}`);
    const state = url.searchParams.get('state') ?? '';
    const pending = state.length > 0 && state.length <= 200 ? await this.sessions.takeLogin(state) : undefined;
    if (!pending) {
      throw new CoreError(
        CoreErrorCode.Unauthenticated,
        'this sign-in link is unknown, expired or was already used; sign in again',
      );
    }
    const identity = await this.oidc.finish(url, state, pending);
    // The console's IdP counts as the policy issuer with its `iss`, else as `consoleIssuer` (default the first).
    const issuer = this.identities.consoleIssuerUrl(identity.principal.issuer) ?? identity.principal.issuer;
    const principal = { ...identity.principal, issuer };
    const { id } = await this.sessions.create({ ...identity, principal, dev: false, createdAt: Date.now() });
    appendCookie(
      reply,
      serializeCookie(this.settings.cookieName, id, {
        secure: this.settings.secureCookies,
        maxAgeSeconds: this.settings.sessionTtlSeconds,
      }),
    );
    void reply.status(302).header('location', safeReturnTo(pending.returnTo)).send();
  }

  @Post('logout')
  @UseGuards(ConsoleSessionGuard)
  async logout(
    @Body(new ZodPipe(CsrfFormSchema)) body: z.infer<typeof CsrfFormSchema>,
    @Req() req: ConsoleRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    assertCsrf(req.consoleSession?.csrf, body._csrf);
    await this.sessions.destroy(req.consoleSessionId ?? '');
    appendCookie(
      reply,
      serializeCookie(this.settings.cookieName, '', { secure: this.settings.secureCookies, maxAgeSeconds: 0 }),
    );
    void reply.status(303).header('location', '/console/login?notice=signed-out').send();
  }
}
