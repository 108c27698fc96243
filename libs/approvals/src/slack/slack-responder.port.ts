import type { AccessRequest } from '@leash/core';
import type { DenyModalMetadata } from './slack-interaction';

/** The Slack calls an interaction needs beyond the ApprovalNotifier port. */
export interface SlackResponder {
  /** A message only `user` sees in `channel` (why a click was refused). */
  postEphemeral(channel: string, user: string, text: string): Promise<void>;
  /** Opens the deny modal; `triggerId` is valid for 3 seconds after the click. */
  openDenyModal(triggerId: string, request: AccessRequest, meta: DenyModalMetadata): Promise<void>;
}

export const SLACK_RESPONDER = Symbol('SlackResponder');
