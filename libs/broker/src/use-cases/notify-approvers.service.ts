import { Inject, Injectable, Optional } from '@nestjs/common';
import type { AccessRequest } from '@leash/core';
import type { NotifyJob } from '@leash/contracts';
import { APPROVAL_NOTIFIERS, type ApprovalNotifier, type ApprovalOutcome } from '@leash/approvals';
import { BROKER_LOGGER, type BrokerLogger } from '../broker.tokens';
import { NOTIFICATION_QUEUE, type NotificationQueue } from '../notifications/notification-queue.port';

/**
 * Fans a request out to every approval notifier through the notifications queue; the worker runs the
 * notifier (DeliverNotification) and keeps the message references in Redis, so any replica or worker
 * can update the message. Enqueue failures are logged and never block or fail the request flow.
 */
@Injectable()
export class NotifyApprovers {
  constructor(
    @Optional()
    @Inject(APPROVAL_NOTIFIERS)
    private readonly notifiers: ApprovalNotifier[] = [],
    @Inject(NOTIFICATION_QUEUE) private readonly queue: NotificationQueue,
    @Inject(BROKER_LOGGER) private readonly logger: BrokerLogger,
  ) {}

  broadcast(request: AccessRequest, _approvalUrl: string): void {
    for (const notifier of this.notifiers) {
      this.enqueue({ kind: 'broadcast', notifier: notifier.name, requestId: request.id });
    }
  }

  /** The outcome is not carried: the worker renders the request's state at delivery time. */
  update(request: AccessRequest, _outcome: ApprovalOutcome): void {
    // Auto-approved requests were never announced, so there is no message to update.
    if (request.decision !== 'needs_approval') {
      return;
    }
    for (const notifier of this.notifiers) {
      this.enqueue({ kind: 'update', notifier: notifier.name, requestId: request.id });
    }
  }

  /** Tells one Slack user something only they see (why their click was refused). */
  ephemeral(channel: string, user: string, text: string, requestId?: string): void {
    this.enqueue({ kind: 'ephemeral', notifier: 'slack', channel, user, text, ...(requestId ? { requestId } : {}) });
  }

  private enqueue(job: NotifyJob): void {
    this.queue.enqueue(job).catch((err: unknown) =>
      this.logger.warn('could not queue an approval notification', {
        notifier: job.notifier,
        kind: job.kind,
        requestId: 'requestId' in job ? job.requestId : undefined,
        err: err instanceof Error ? err.message : String(err),
      }),
    );
  }
}
