import {
  Body,
  Controller,
  Get,
  Inject,
  Param,
  Post,
  Query,
  Res,
  UseFilters,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { CoreError, CoreErrorCode } from '@leash/core';
import {
  BreakGlass,
  ConsoleQueries,
  DecideInConsole,
  LeaseQueries,
  POLICY_HOLDER,
  RevokeLeaseNow,
  RevokeSession,
  SessionDashboardQueries,
  type PolicyHolder,
} from '@leash/broker';
import { SessionIdParamSchema } from '@leash/contracts';
import { ZodPipe } from '../http/zod.pipe';
import { ConsoleErrorFilter } from './console-error.filter';
import {
  ApproveFormSchema,
  BreakGlassFormSchema,
  ConsoleIdSchema,
  CsrfFormSchema,
  DenyFormSchema,
  LeasesQuerySchema,
  PendingQuerySchema,
  RequestPageQuerySchema,
} from './console-forms.schema';
import { ConsoleHeadersInterceptor } from './console-headers.interceptor';
import { assertCsrf, safeReturnTo } from './console-http';
import { ConsoleSessionGuard, CurrentSession } from './console-session.guard';
import type { ConsoleSession } from './console-session.store';
import { CONSOLE_SETTINGS, type ConsoleSettings } from './console-settings';
import { leasesPage } from './views/leases.view';
import { pendingPage, pendingRows, pendingTitle } from './views/pending.view';
import { requestPage } from './views/request.view';
import { liveSections, sessionPage } from './views/session.view';
import type { SafeHtml } from './html';

const idPipe = new ZodPipe(ConsoleIdSchema, 'path.id');
const sessionIdPipe = new ZodPipe(SessionIdParamSchema, 'path.id');
const FLASH = {
  approved: 'Your approval is recorded.',
  denied: 'The request is denied.',
  revoked: 'The lease is revoked.',
  'session-revoked': 'Every lease of the session is revoked.',
} as const;

function sendHtml(reply: FastifyReply, page: SafeHtml): void {
  void reply.header('content-type', 'text/html; charset=utf-8').send(page.value);
}

function seeOther(reply: FastifyReply, location: string): void {
  void reply.status(303).header('location', location).send();
}

/** The approver console's pages and forms; every decision goes through the broker's use cases. */
@Controller('console')
@UseGuards(ConsoleSessionGuard)
@UseFilters(ConsoleErrorFilter)
@UseInterceptors(ConsoleHeadersInterceptor)
export class ConsolePagesController {
  constructor(
    private readonly queries: ConsoleQueries,
    private readonly decide: DecideInConsole,
    private readonly leases: LeaseQueries,
    private readonly revokeLease: RevokeLeaseNow,
    private readonly revokeSession: RevokeSession,
    private readonly breakGlass: BreakGlass,
    @Inject(POLICY_HOLDER) private readonly policy: PolicyHolder,
    @Inject(CONSOLE_SETTINGS) private readonly settings: ConsoleSettings,
    private readonly sessions: SessionDashboardQueries,
  ) {}

  @Get()
  async pending(
    @CurrentSession() session: ConsoleSession,
    @Query(new ZodPipe(PendingQuerySchema, 'query')) filter: z.infer<typeof PendingQuerySchema>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const doc = this.policy.current.document;
    let queue;
    let refusal: string | undefined;
    try {
      queue = await this.queries.pending(session.principal, filter);
    } catch (err) {
      if (!(err instanceof CoreError) || err.code !== CoreErrorCode.Forbidden) {
        throw err;
      }
      refusal = `${err.message}. You can still open a request you made or launched from its link.`;
    }
    sendHtml(
      reply,
      pendingPage({
        session,
        queue,
        ...(refusal ? { refusal } : {}),
        filter,
        environments: Object.keys(doc.environments),
        roles: doc.roles.filter((r) => r.approval !== 'auto').map((r) => r.id),
      }),
    );
  }

  @Get('fragments/pending')
  async pendingFragment(
    @CurrentSession() session: ConsoleSession,
    @Query(new ZodPipe(PendingQuerySchema, 'query')) filter: z.infer<typeof PendingQuerySchema>,
  ): Promise<{ count: number; title: string; html: string }> {
    const queue = await this.queries.pending(session.principal, filter);
    return { count: queue.total, title: pendingTitle(queue.total), html: pendingRows(queue).value };
  }

  @Get('requests/:id')
  async request(
    @CurrentSession() session: ConsoleSession,
    @Param('id', idPipe) id: string,
    @Query(new ZodPipe(RequestPageQuerySchema, 'query')) query: z.infer<typeof RequestPageQuerySchema>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const detail = await this.queries.detail(session.principal, id, session.login, this.settings.mfaMaxAgeSeconds);
    sendHtml(
      reply,
      requestPage({ session, detail, narrowingSupported: true, ...(query.done ? { flash: FLASH[query.done] } : {}) }),
    );
  }

  /** The agent session dashboard: identity and access, secrets in use, audit, live logs, workflow, pending decision. */
  @Get('sessions/:id')
  async sessionDashboard(
    @CurrentSession() session: ConsoleSession,
    @Param('id', sessionIdPipe) id: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const dashboard = await this.sessions.dashboard(
      session.principal,
      id,
      session.login,
      this.settings.mfaMaxAgeSeconds,
    );
    sendHtml(reply, sessionPage({ session, dashboard }));
  }

  /** The live parts of the session dashboard, polled by the console script. */
  @Get('fragments/sessions/:id')
  async sessionFragment(
    @CurrentSession() session: ConsoleSession,
    @Param('id', sessionIdPipe) id: string,
  ): Promise<{ sections: Record<string, string> }> {
    const dashboard = await this.sessions.dashboard(
      session.principal,
      id,
      session.login,
      this.settings.mfaMaxAgeSeconds,
      true,
    );
    return { sections: liveSections({ session, dashboard }) };
  }

  @Post('requests/:id/approve')
  async approve(
    @CurrentSession() session: ConsoleSession,
    @Param('id', idPipe) id: string,
    @Body(new ZodPipe(ApproveFormSchema)) body: z.infer<typeof ApproveFormSchema>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    assertCsrf(session.csrf, body._csrf);
    let ttlSeconds: number | undefined;
    if (body.ttlSeconds !== undefined && body.ttlSeconds !== '') {
      // Narrowing: a shorter TTL than asked (the broker refuses anything else with a 400).
      if (!/^[1-9]\d{0,8}$/.test(body.ttlSeconds)) {
        throw new CoreError(CoreErrorCode.Invalid, 'the shorter TTL must be a whole number of seconds');
      }
      ttlSeconds = Number(body.ttlSeconds);
    }
    await this.decide.execute({
      ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
      principal: session.principal,
      login: session.login,
      id,
      decision: 'approve',
      ...(body.comment ? { comment: body.comment } : {}),
      ...(body.digest ? { shownDigest: body.digest } : {}),
      ...(body.confirmEnvironment !== undefined ? { confirmEnvironment: body.confirmEnvironment } : {}),
      mfaMaxAgeSeconds: this.settings.mfaMaxAgeSeconds,
    });
    seeOther(reply, `/console/requests/${id}?done=approved`);
  }

  @Post('requests/:id/deny')
  async deny(
    @CurrentSession() session: ConsoleSession,
    @Param('id', idPipe) id: string,
    @Body(new ZodPipe(DenyFormSchema)) body: z.infer<typeof DenyFormSchema>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    assertCsrf(session.csrf, body._csrf);
    await this.decide.execute({
      principal: session.principal,
      login: session.login,
      id,
      decision: 'deny',
      ...(body.comment ? { comment: body.comment } : {}),
      mfaMaxAgeSeconds: this.settings.mfaMaxAgeSeconds,
    });
    seeOther(reply, `/console/requests/${id}?done=denied`);
  }

  @Get('leases')
  async leasesList(
    @CurrentSession() session: ConsoleSession,
    @Query(new ZodPipe(LeasesQuerySchema, 'query')) query: z.infer<typeof LeasesQuerySchema>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const filter = {
      ...(query.environment ? { environment: query.environment } : {}),
      ...(query.role ? { role: query.role } : {}),
      ...(query.session ? { session: query.session } : {}),
    };
    const leases = await this.leases.list(session.principal, { ...filter, state: 'active', limit: 500 });
    const flash =
      query.done === 'break-glass'
        ? `Break glass in ${query.env ?? '?'}: ${query.revoked ?? 0} leases revoked, ` +
          `${query.pending ?? 0} still being revoked by the worker, ${query.cancelled ?? 0} open requests cancelled.` +
          (query.unrecallable
            ? ` ${query.unrecallable} of the revoked credentials cannot be recalled by their provider (GCP) and expire by themselves.`
            : '')
        : query.done
          ? FLASH[query.done]
          : undefined;
    sendHtml(
      reply,
      leasesPage({
        session,
        leases,
        filter,
        admin: this.queries.isAdmin(session.principal),
        environments: Object.keys(this.policy.current.document.environments),
        ...(flash ? { flash } : {}),
      }),
    );
  }

  /** Break glass for a whole environment, confirmed by typing its name (admins; the use case checks). */
  @Post('admin/revoke')
  async breakGlassForm(
    @CurrentSession() session: ConsoleSession,
    @Body(new ZodPipe(BreakGlassFormSchema)) body: z.infer<typeof BreakGlassFormSchema>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    assertCsrf(session.csrf, body._csrf);
    if (body.confirm.trim() !== body.environment) {
      throw new CoreError(
        CoreErrorCode.Invalid,
        `nothing was revoked: type the environment's name (${body.environment}) exactly to confirm`,
      );
    }
    const result = await this.breakGlass.execute({
      principal: session.principal,
      body: { environment: body.environment, reason: body.reason },
      channel: 'web',
    });
    const q = new URLSearchParams({
      done: 'break-glass',
      env: body.environment,
      revoked: String(result.counts.revokedLeases),
      pending: String(result.counts.pendingLeases),
      cancelled: String(result.counts.cancelledRequests),
      unrecallable: String(result.measures.filter((m) => m.kind === 'unrecallable').reduce((n, m) => n + m.leases, 0)),
    });
    seeOther(reply, `/console/leases?${q.toString()}`);
  }

  @Post('leases/:id/revoke')
  async revoke(
    @CurrentSession() session: ConsoleSession,
    @Param('id', idPipe) id: string,
    @Body(new ZodPipe(CsrfFormSchema)) body: z.infer<typeof CsrfFormSchema>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    assertCsrf(session.csrf, body._csrf);
    await this.revokeLease.execute({ principal: session.principal, id, channel: 'web' });
    const back = safeReturnTo(body.returnTo);
    seeOther(reply, back.startsWith('/console/requests/') ? `${back}?done=revoked` : '/console/leases?done=revoked');
  }

  @Post('sessions/:id/revoke')
  async revokeAll(
    @CurrentSession() session: ConsoleSession,
    @Param('id', idPipe) id: string,
    @Body(new ZodPipe(CsrfFormSchema)) body: z.infer<typeof CsrfFormSchema>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    assertCsrf(session.csrf, body._csrf);
    await this.revokeSession.execute({ principal: session.principal, sessionId: id });
    seeOther(reply, '/console/leases?done=session-revoked');
  }
}
