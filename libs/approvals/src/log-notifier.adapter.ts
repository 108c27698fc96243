import type { AccessRequest } from '@leash/core';
import type { ApprovalNotifier, ApprovalOutcome, MessageRef } from './approval-notifier.port';

export interface NotifierLogger {
  log(message: string): void;
}

/**
 * Web adapter (minimal): the request is visible at its approval URL; this adapter records the
 * announcement in the operator log so approvers running the demo see where to look.
 */
export class WebLinkNotifier implements ApprovalNotifier {
  readonly name = 'web';

  constructor(private readonly logger: NotifierLogger) {}

  broadcast(request: AccessRequest, approvalUrl: string): Promise<MessageRef[]> {
    this.logger.log(
      `approval needed: ${request.id} ${request.role}@${request.environment} for ${request.principal} → ${approvalUrl}`,
    );
    return Promise.resolve([{ notifier: this.name, ref: { url: approvalUrl } }]);
  }

  update(_refs: MessageRef[], request: AccessRequest, outcome: ApprovalOutcome): Promise<void> {
    this.logger.log(`request ${request.id}: ${outcome.kind}`);
    return Promise.resolve();
  }
}
