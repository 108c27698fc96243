import { Inject, Injectable, Optional } from '@nestjs/common';
import type { AccessRequest, Approval, Lease } from '@leash/core';
import type { NotifyJob } from '@leash/contracts';
import {
  APPROVAL_NOTIFIERS,
  evaluateQuorum,
  MESSAGE_REF_STORE,
  NotifierError,
  NotifierErrorCode,
  SLACK_RESPONDER,
  type ApprovalNotifier,
  type ApprovalOutcome,
  type MessageRefStore,
  type SlackResponder,
} from '@leash/approvals';
import { LEASE_STORE, type LeaseStore } from '@leash/leases';
import { PUBLIC_URL } from '../broker.tokens';
import { approvalUrlOf } from '../views';

export type DeliveryResult =
  | { outcome: 'delivered' | 'skipped' }
  | { outcome: 'retry_after'; delayMs: number; error: string }
  | { outcome: 'retry'; error: string }
  | { outcome: 'give_up'; error: string };

/**
 * Runs one notifier job in the worker: posts a request's message once, or rewrites it from the
 * request's current state, so late or reordered jobs still leave the message showing the truth.
 */
@Injectable()
export class DeliverNotification {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeaseStore,
    @Inject(MESSAGE_REF_STORE) private readonly refs: MessageRefStore,
    @Inject(PUBLIC_URL) private readonly publicUrl: string,
    @Optional() @Inject(APPROVAL_NOTIFIERS) private readonly notifiers: ApprovalNotifier[] = [],
    @Optional() @Inject(SLACK_RESPONDER) private readonly slack?: SlackResponder,
  ) {}

  async execute(job: NotifyJob): Promise<DeliveryResult> {
    try {
      await this.deliver(job);
      return { outcome: 'delivered' };
    } catch (err) {
      if (!(err instanceof NotifierError)) {
        // Redis hiccups and the like: BullMQ retries with backoff.
        return { outcome: 'retry', error: err instanceof Error ? err.message : String(err) };
      }
      switch (err.code) {
        case NotifierErrorCode.RateLimited:
          return { outcome: 'retry_after', delayMs: err.retryAfterMs ?? 1000, error: err.message };
        case NotifierErrorCode.Retryable:
          return { outcome: 'retry', error: err.message };
        case NotifierErrorCode.Permanent:
          return { outcome: 'give_up', error: err.message };
        default:
          return err.code satisfies never;
      }
    }
  }

  private async deliver(job: NotifyJob): Promise<void> {
    if (job.kind === 'ephemeral') {
      if (!this.slack) {
        throw new NotifierError(NotifierErrorCode.Permanent, 'Slack is not configured');
      }
      await this.slack.postEphemeral(job.channel, job.user, job.text);
      return;
    }
    const notifier = this.notifiers.find((n) => n.name === job.notifier);
    if (!notifier) {
      throw new NotifierError(NotifierErrorCode.Permanent, `no notifier named ${job.notifier}`);
    }
    const found = await this.store.getRequest(job.requestId);
    if (!found) {
      throw new NotifierError(NotifierErrorCode.Permanent, `request ${job.requestId} is gone`);
    }
    const { request, approvals } = found;
    const lease = request.leaseId ? await this.store.getLease(request.leaseId) : undefined;
    const outcome = currentOutcome(request, approvals, lease);
    let refs = await this.refs.get(request.id, notifier.name);
    if (refs.length === 0) {
      if (job.kind === 'update') {
        // The post has not happened yet (queued or retrying): try again after it.
        throw new NotifierError(NotifierErrorCode.Retryable, `request ${request.id} has no message yet`);
      }
      refs = await notifier.broadcast(request, approvalUrlOf(this.publicUrl, request.id));
      await this.refs.put(request.id, notifier.name, refs);
      if (outcome === undefined) {
        return;
      }
    }
    if (outcome !== undefined || job.kind === 'update') {
      await notifier.update(refs, request, outcome ?? pendingOutcome(request));
    }
  }
}

/** What the message should say now; undefined while pending with no approvals yet. */
export function currentOutcome(
  request: AccessRequest,
  approvals: Approval[],
  lease: Lease | undefined,
): ApprovalOutcome | undefined {
  const current = approvals.filter((a) => a.digest === request.digest);
  const approved = (final: boolean): ApprovalOutcome | undefined => {
    if (request.approval.kind !== 'quorum' || (current.length === 0 && !final)) {
      return final ? { kind: 'approved', by: 'policy', final, progress: 'auto', approvers: ['policy'] } : undefined;
    }
    const approvers = current.map((a) => a.approver);
    return {
      kind: 'approved',
      by: approvers[approvers.length - 1] ?? 'policy',
      final,
      progress: evaluateQuorum(request.approval.requirements, current).progress,
      approvers,
    };
  };
  switch (request.state) {
    case 'pending':
      return approved(false);
    case 'approved':
    case 'issuing':
      return approved(true);
    case 'denied':
      return { kind: 'denied', by: request.denial?.by ?? 'unknown', comment: request.denial?.comment };
    case 'expired':
      return { kind: 'expired' };
    case 'cancelled':
      return { kind: 'cancelled' };
    case 'issued': {
      const leaseId = request.leaseId ?? 'unknown';
      return lease && (lease.state === 'revoked' || lease.state === 'revoking')
        ? { kind: 'revoked', leaseId }
        : { kind: 'issued', leaseId };
    }
    default:
      return request.state satisfies never;
  }
}

function pendingOutcome(request: AccessRequest): ApprovalOutcome {
  const progress =
    request.approval.kind === 'quorum' ? evaluateQuorum(request.approval.requirements, []).progress : 'auto';
  return { kind: 'approved', by: '', final: false, progress, approvers: [] };
}
