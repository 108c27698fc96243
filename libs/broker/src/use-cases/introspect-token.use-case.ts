import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, CoreError, CoreErrorCode, type Clock } from '@leash/core';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import type { IntrospectionResult, JwtProvider } from '@leash/providers';
import { JWT_PROVIDER } from '../broker.tokens';
import { PendingRevocations } from '../revocation/pending-revocations.service';

/**
 * RFC 7662 introspection as an allow-list: a broker JWT is active only while the lease it was
 * issued for (jti = lease id) is recorded and active. A wiped or evicted Redis therefore makes
 * every earlier token inactive instead of reviving the ones revoked early (the denylist is gone too).
 */
@Injectable()
export class IntrospectToken {
  constructor(
    @Inject(JWT_PROVIDER) private readonly jwt: JwtProvider | undefined,
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly pending: PendingRevocations,
  ) {}

  async execute(token: string): Promise<IntrospectionResult> {
    if (!this.jwt) {
      throw new CoreError(CoreErrorCode.Unavailable, 'the jwt provider is not enabled');
    }
    const verified = await this.jwt.introspect(token);
    if (!verified.active) {
      return verified;
    }
    const jti = typeof verified.jti === 'string' ? verified.jti : undefined;
    // Revoked early but not yet recorded (Redis refused the write): inactive already.
    if (jti && this.pending.isPending(jti)) {
      return { active: false };
    }
    const lease = jti ? await this.store.getLease(jti) : undefined;
    if (!lease || lease.state !== 'active' || lease.provider !== 'jwt' || lease.expiresAt <= this.clock.now()) {
      return { active: false };
    }
    return verified;
  }
}
