import { Inject, Injectable, Optional } from '@nestjs/common';
import type { AccessRequest } from '@leash/core';
import { APPROVAL_NOTIFIERS, type ApprovalNotifier, type ApprovalOutcome, type MessageRef } from '@leash/approvals';
import { BROKER_LOGGER, type BrokerLogger } from '../broker.tokens';

/**
 * Fans a request out to every approval notifier. Notifier failures are logged and never block
 * or fail the request flow (approval through another channel still works).
 */
@Injectable()
export class NotifyApprovers {
  private readonly refs = new Map<string, MessageRef[]>();

  constructor(
    @Optional()
    @Inject(APPROVAL_NOTIFIERS)
    private readonly notifiers: ApprovalNotifier[] = [],
    @Inject(BROKER_LOGGER) private readonly logger: BrokerLogger,
  ) {}

  broadcast(request: AccessRequest, approvalUrl: string): void {
    for (const notifier of this.notifiers) {
      notifier
        .broadcast(request, approvalUrl)
        .then((refs) => this.refs.set(request.id, [...(this.refs.get(request.id) ?? []), ...refs]))
        .catch((err: unknown) =>
          this.logger.warn('approval notifier failed', {
            notifier: notifier.name,
            requestId: request.id,
            err: String(err),
          }),
        );
    }
  }

  update(request: AccessRequest, outcome: ApprovalOutcome): void {
    const refs = this.refs.get(request.id) ?? [];
    for (const notifier of this.notifiers) {
      notifier
        .update(
          refs.filter((r) => r.notifier === notifier.name),
          request,
          outcome,
        )
        .catch((err: unknown) =>
          this.logger.warn('approval notifier update failed', {
            notifier: notifier.name,
            err: String(err),
          }),
        );
    }
    if (outcome.kind !== 'approved' || outcome.final) {
      this.refs.delete(request.id);
    }
  }
}
