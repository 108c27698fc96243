import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, CoreError, CoreErrorCode, type Clock, type Principal } from '@leash/core';
import type { RegisterSessionBody, SessionView } from '@leash/contracts';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { forbidden } from '../access-control';
import { toSessionView } from '../views';

/** Registers an agent session (or re-activates the caller's own) with an idle limit. */
@Injectable()
export class RegisterSession {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(cmd: { principal: Principal; body: RegisterSessionBody }): Promise<SessionView> {
    const now = this.clock.now();
    const { principal, body } = cmd;
    const result = await this.store.registerSession({
      id: body.id,
      state: 'active',
      principal: principal.id,
      issuer: principal.issuer,
      ...(principal.owner ? { owner: principal.owner } : {}),
      ...(body.agent ? { agent: body.agent } : {}),
      ...(body.host ? { host: body.host } : {}),
      idleSeconds: body.idleSeconds,
      createdAt: now,
      lastSeenAt: now,
    });
    if (!result.ok) {
      throw forbidden(`session ${body.id} belongs to another principal`);
    }
    const session = await this.store.getSession(body.id);
    if (!session) {
      throw new CoreError(CoreErrorCode.Unavailable, `session ${body.id} could not be read back`);
    }
    await this.audit.append({
      actor: { id: principal.id, channel: 'api' },
      action: 'session.registered',
      sessionId: body.id,
      details: { idleSeconds: body.idleSeconds, agent: body.agent ?? null },
    });
    return toSessionView(session);
  }
}
