import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, CoreError, CoreErrorCode, type Clock, type Principal } from '@leash/core';
import type { RequestView } from '@leash/contracts';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { AUDIT_LOG, type AuditLog } from '@leash/audit';
import { forbidden, isRequester, notFound } from '../access-control';
import { PUBLIC_URL } from '../broker.tokens';
import { toRequestView } from '../views';
import { NotifyApprovers } from './notify-approvers.service';

/** The requester withdraws a pending (or approved, unclaimed) request. */
@Injectable()
export class CancelRequest {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(AUDIT_LOG) private readonly audit: AuditLog,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PUBLIC_URL) private readonly publicUrl: string,
    private readonly notify: NotifyApprovers,
  ) {}

  async execute(cmd: { principal: Principal | 'system'; id: string; actor?: string }): Promise<RequestView> {
    const found = await this.store.getRequest(cmd.id);
    if (!found) {
      throw notFound(`request ${cmd.id}`);
    }
    if (cmd.principal !== 'system' && !isRequester(found.request, cmd.principal)) {
      throw forbidden('only the requester can cancel a request');
    }
    const moved = await this.store.transitionRequest({
      id: cmd.id,
      from: ['pending', 'approved'],
      to: 'cancelled',
      now: this.clock.now(),
      expiresAt: null,
    });
    if (!moved.ok) {
      throw new CoreError(
        CoreErrorCode.Conflict,
        `request ${cmd.id} is ${moved.state ?? 'gone'} and cannot be cancelled`,
        {
          state: moved.state,
        },
      );
    }
    const actor = cmd.principal === 'system' ? (cmd.actor ?? 'system') : cmd.principal.id;
    await this.audit.append({
      actor: {
        id: actor,
        channel: cmd.principal === 'system' ? 'system' : 'api',
      },
      action: 'request.cancelled',
      requestId: cmd.id,
      sessionId: found.request.session?.id,
      role: found.request.role,
      environment: found.request.environment,
      policyVersion: found.request.policyVersion,
    });
    this.notify.update(found.request, { kind: 'cancelled' });
    const after = await this.store.getRequest(cmd.id);
    return toRequestView(after?.request ?? found.request, after?.approvals ?? found.approvals, this.publicUrl);
  }
}
