import { Inject, Injectable } from '@nestjs/common';
import { assertUnreachable, CLOCK, CoreError, CoreErrorCode, type Clock, type Principal } from '@leash/core';
import type { SessionView } from '@leash/contracts';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { forbidden, notFound } from '../access-control';
import { toSessionView } from '../views';

/** Keeps a registered agent session alive; only its own principal may heartbeat it. */
@Injectable()
export class HeartbeatSession {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(cmd: { principal: Principal; sessionId: string }): Promise<SessionView> {
    const result = await this.store.heartbeatSession(
      cmd.sessionId,
      { principal: cmd.principal.id, issuer: cmd.principal.issuer },
      this.clock.now(),
    );
    if (!result.ok) {
      switch (result.reason) {
        case 'missing':
          throw notFound(`session ${cmd.sessionId}`);
        case 'owner':
          throw forbidden('only the principal that registered a session may heartbeat it');
        case 'state':
          throw new CoreError(CoreErrorCode.Conflict, `session ${cmd.sessionId} has ended; register it again`);
        case 'deadline':
          throw new CoreError(
            CoreErrorCode.Conflict,
            `session ${cmd.sessionId} went idle past its limit; its leases are being revoked`,
          );
        default:
          return assertUnreachable(result.reason);
      }
    }
    const session = await this.store.getSession(cmd.sessionId);
    if (!session) {
      throw notFound(`session ${cmd.sessionId}`);
    }
    return toSessionView(session);
  }
}
