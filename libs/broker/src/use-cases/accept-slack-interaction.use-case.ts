import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, CoreError, CoreErrorCode, type Clock } from '@leash/core';
import {
  ApprovalError,
  ApprovalErrorCode,
  parseSlackInteraction,
  verifySlackSignature,
  type SlackInteraction,
  type SlackReplayGuard,
} from '@leash/approvals';
import { SLACK_REPLAY_GUARD, SLACK_SIGNING_SECRET } from '../broker.tokens';

export interface SlackCallback {
  signature: string | undefined;
  timestamp: string | undefined;
  rawBody: Buffer | undefined;
  payload: string | undefined;
}

/**
 * Admits a Slack interactivity callback: a valid signature over the raw body, a timestamp within
 * five minutes, and never seen before (replays are refused). Fast, so Slack gets its answer in 3 s.
 */
@Injectable()
export class AcceptSlackInteraction {
  constructor(
    @Inject(SLACK_SIGNING_SECRET) private readonly signingSecret: string,
    @Inject(SLACK_REPLAY_GUARD) private readonly replays: SlackReplayGuard,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(callback: SlackCallback): Promise<SlackInteraction> {
    verifySlackSignature(this.signingSecret, callback, this.clock.now());
    let first: boolean;
    try {
      first = await this.replays.firstSeen(callback.signature ?? '');
    } catch (cause) {
      // Without the replay record we cannot tell a replay from a click: fail closed.
      throw new CoreError(CoreErrorCode.Unavailable, 'the replay guard (Redis) is unavailable', {}, { cause });
    }
    if (!first) {
      throw new ApprovalError(ApprovalErrorCode.Replayed, 'this signed callback was already received');
    }
    return parseSlackInteraction(callback.payload);
  }
}
