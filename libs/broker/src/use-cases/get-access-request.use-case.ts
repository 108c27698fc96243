import { Inject, Injectable } from '@nestjs/common';
import { DrainSignal } from '../shutdown/drain-signal';
import { CLOCK, type Clock, type Principal } from '@leash/core';
import type { RequestView } from '@leash/contracts';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { capacitiesFor, forbidden, notFound } from '../access-control';
import { Identities } from '../auth/identities';
import { LocalRequestUpdates } from '../requests/local-request-updates';
import { PUBLIC_URL } from '../broker.tokens';
import { toRequestView } from '../views';

/** Reads a request; with waitSeconds, holds the answer while the request is pending. */
@Injectable()
export class GetAccessRequest {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PUBLIC_URL) private readonly publicUrl: string,
    private readonly identities: Identities,
    private readonly drain: DrainSignal,
    private readonly updates: LocalRequestUpdates,
  ) {}

  async execute(command: { principal: Principal; id: string; waitSeconds?: number }): Promise<RequestView> {
    const deadline = this.clock.now() + (command.waitSeconds ?? 0) * 1000;
    let found = await this.store.getRequest(command.id);
    if (!found) {
      throw notFound(`request ${command.id}`);
    }
    if (capacitiesFor(found.request, command.principal, this.identities.of(command.principal)).length === 0) {
      throw forbidden('only the requester, its owner, approvers of its role and admins may read this request');
    }
    // A shutting-down process answers long-polls with the current state; the client polls again elsewhere.
    while (found && found.request.state === 'pending' && this.clock.now() < deadline && !this.drain.active) {
      const pendingUntil = Math.min(deadline, found.request.expiresAt + 50);
      // A decision taken in this process hands its view over directly; the store's change event (any
      // process) is the guarantee, and is followed by a read.
      const local = this.updates.next(command.id);
      let decided: RequestView | undefined;
      try {
        decided = await Promise.race([
          this.store
            .waitForChange(
              command.id,
              Math.max(10, pendingUntil - this.clock.now()),
              async () => (await this.store.getRequest(command.id))?.request.state === 'pending',
            )
            .then(() => undefined),
          local.view,
          this.drain.drained.then(() => undefined),
        ]);
      } finally {
        local.cancel();
      }
      if (decided && decided.state !== 'pending') {
        return decided;
      }
      found = await this.store.getRequest(command.id);
      if (found && found.request.state === 'pending' && this.clock.now() >= found.request.expiresAt) {
        // The approval timeout passed; report it without waiting for the reconciler.
        found = { ...found, request: { ...found.request, state: 'expired' } };
      }
    }
    if (!found) {
      throw notFound(`request ${command.id}`);
    }
    return toRequestView(found.request, found.approvals, this.publicUrl);
  }
}
