import { Inject, Injectable } from '@nestjs/common';
import { canonicalDigest, CLOCK, CoreError, CoreErrorCode, redact, type Clock, type Principal } from '@leash/core';
import type { SessionEventBody, SessionEventView } from '@leash/contracts';
import { LEASE_STORE, SessionEventStore, type LeaseStore, type StoredSessionEvent } from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { forbidden } from '../access-control';

/** Events per session and per principal (issuer, subject) per minute; past them a 429. */
export const SESSION_EVENTS_PER_MINUTE = 60;
export const SESSION_EVENTS_PER_PRINCIPAL_PER_MINUTE = 120;

/** What `leash scan --report` sends starts so; the dashboard shows it as an endpoint-posture row. */
const POSTURE_PREFIX = 'endpoint posture:';

/**
 * Records what an agent reports about its session (workflow step, log line): only the session's own
 * principal, bounded in rate, redacted like the logs, audited, and kept with the session's retention.
 */
@Injectable()
export class ReportSessionEvent {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    private readonly events: SessionEventStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(cmd: { principal: Principal; sessionId: string; body: SessionEventBody }): Promise<SessionEventView> {
    const { principal, sessionId, body } = cmd;
    // As with requests: an id nobody holds yet becomes the caller's; another principal's session is refused.
    const bound = await this.store.bindSession(sessionId, { principal: principal.id, issuer: principal.issuer });
    if (!bound.ok) {
      throw forbidden(`only the principal that owns session ${sessionId} may report its events`);
    }
    const session = await this.store.getSession(sessionId);
    if (session?.state === 'ended') {
      throw new CoreError(CoreErrorCode.Conflict, `session ${sessionId} has ended; it takes no more events`);
    }
    const spent = await this.events.take(
      sessionId,
      canonicalDigest([principal.issuer, principal.id]).slice(0, 24),
      SESSION_EVENTS_PER_MINUTE,
      SESSION_EVENTS_PER_PRINCIPAL_PER_MINUTE,
      this.clock.now(),
    );
    if (spent !== 'ok') {
      throw new CoreError(
        CoreErrorCode.RateLimited,
        spent === 'session'
          ? `session ${sessionId} reported more than ${SESSION_EVENTS_PER_MINUTE} events this minute; slow down`
          : `this principal reported more than ${SESSION_EVENTS_PER_PRINCIPAL_PER_MINUTE} session events this minute; slow down`,
      );
    }
    const message = redact(body.message) as string;
    const event: Omit<StoredSessionEvent, 'id'> = {
      at: this.clock.now(),
      ...(body.step ? { step: body.step } : {}),
      level: body.level,
      kind: message.startsWith(POSTURE_PREFIX) ? 'posture' : 'log',
      message,
      by: principal.id,
      redacted: message !== body.message,
    };
    // Audited before it is shown: nothing appears on the dashboard that the audit trail lacks.
    await this.audit.append({
      actor: { id: principal.id, channel: 'api' },
      action: 'session.event',
      sessionId,
      details: {
        level: event.level,
        step: event.step ?? null,
        kind: event.kind,
        message: event.message,
        redacted: event.redacted,
      },
    });
    const id = await this.events.append(sessionId, event);
    return toSessionEventView(sessionId, { ...event, id });
  }
}

export function toSessionEventView(sessionId: string, e: StoredSessionEvent): SessionEventView {
  return {
    id: e.id,
    sessionId,
    at: new Date(e.at).toISOString(),
    ...(e.step ? { step: e.step as SessionEventView['step'] } : {}),
    level: e.level as SessionEventView['level'],
    kind: e.kind,
    message: e.message,
    by: e.by,
    redacted: e.redacted,
  };
}
