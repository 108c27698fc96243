import { ErrorCode, LogLevel, WebClient, type KnownBlock, type ModalView } from '@slack/web-api';
import type { AccessRequest } from '@leash/core';
import type { SlackConfig } from '@leash/config';
import type { ApprovalNotifier, ApprovalOutcome, MessageRef } from '../approval-notifier.port';
import { NotifierError, NotifierErrorCode } from '../notifier.errors';
import type { DenyModalMetadata } from './slack-interaction';
import { renderDenyModal, renderRequestMessage, type SlackMessage } from './slack-message';
import type { SlackResponder } from './slack-responder.port';

/** Slack errors that retrying cannot fix (https://api.slack.com/methods, "Errors"). */
const PERMANENT = new Set([
  'not_authed',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'missing_scope',
  'not_allowed_token_type',
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'msg_too_long',
  'invalid_blocks',
  'invalid_blocks_format',
  'invalid_arguments',
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
  'user_not_in_channel',
  'expired_trigger_id',
  'invalid_trigger_id',
  'exchanged_trigger_id',
]);

/**
 * Slack adapter of the ApprovalNotifier port: one Block Kit message per request in the routed channel,
 * rewritten with chat.update on every change. Every call fails with a classified NotifierError so the
 * notification worker can retry, wait for Retry-After, or give up.
 */
export class SlackNotifier implements ApprovalNotifier, SlackResponder {
  readonly name = 'slack';
  private readonly client: WebClient;

  constructor(
    private readonly config: SlackConfig,
    private readonly consoleUrl: (requestId: string) => string,
  ) {
    this.client = new WebClient(config.botToken, {
      slackApiUrl: config.apiUrl,
      // Retries belong to the BullMQ queue (which honours Retry-After), not to an in-memory loop.
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: 10_000,
      logLevel: LogLevel.ERROR,
    });
  }

  /** The channel for a request: a role route beats an environment route beats the default channel. */
  channelFor(request: AccessRequest): string {
    const { routes, defaultChannel } = this.config;
    return routes.roles[request.role] ?? routes.environments[request.environment] ?? defaultChannel;
  }

  async broadcast(request: AccessRequest): Promise<MessageRef[]> {
    const message = renderRequestMessage(request, undefined, this.consoleUrl(request.id));
    const res = await this.call(() =>
      this.client.chat.postMessage({ channel: this.channelFor(request), ...this.wire(message) }),
    );
    if (!res.channel || !res.ts) {
      throw new NotifierError(NotifierErrorCode.Permanent, 'chat.postMessage answered without channel or ts');
    }
    return [{ notifier: this.name, ref: { channel: res.channel, ts: res.ts } }];
  }

  async update(refs: MessageRef[], request: AccessRequest, outcome: ApprovalOutcome): Promise<void> {
    const message = renderRequestMessage(request, outcome, this.consoleUrl(request.id));
    for (const { ref } of refs) {
      await this.call(() => this.client.chat.update({ channel: ref.channel, ts: ref.ts, ...this.wire(message) }));
    }
  }

  async postEphemeral(channel: string, user: string, text: string): Promise<void> {
    await this.call(() => this.client.chat.postEphemeral({ channel, user, text }));
  }

  async openDenyModal(triggerId: string, request: AccessRequest, meta: DenyModalMetadata): Promise<void> {
    const view = renderDenyModal(request, meta) as unknown as ModalView;
    await this.call(() => this.client.views.open({ trigger_id: triggerId, view }));
  }

  private wire(message: SlackMessage): { text: string; blocks: KnownBlock[] } {
    return { text: message.text, blocks: message.blocks as unknown as KnownBlock[] };
  }

  private async call<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw classify(err);
    }
  }
}

function classify(err: unknown): NotifierError {
  const e = err as { code?: ErrorCode; retryAfter?: number; statusCode?: number; data?: { error?: string } };
  switch (e.code) {
    case ErrorCode.RateLimitedError:
      return new NotifierError(
        NotifierErrorCode.RateLimited,
        'Slack rate limit (HTTP 429)',
        1000 * (e.retryAfter ?? 1),
        {
          cause: err,
        },
      );
    case ErrorCode.PlatformError: {
      const code = e.data?.error ?? 'unknown_error';
      if (code === 'ratelimited') {
        return new NotifierError(NotifierErrorCode.RateLimited, 'Slack rate limit', 1000, { cause: err });
      }
      const kind = PERMANENT.has(code) ? NotifierErrorCode.Permanent : NotifierErrorCode.Retryable;
      return new NotifierError(kind, `Slack refused the call: ${code}`, undefined, { cause: err });
    }
    case ErrorCode.HTTPError: {
      const status = e.statusCode ?? 0;
      const kind = status >= 500 || status === 408 ? NotifierErrorCode.Retryable : NotifierErrorCode.Permanent;
      return new NotifierError(kind, `Slack answered HTTP ${status}`, undefined, { cause: err });
    }
    case ErrorCode.RequestError:
    case ErrorCode.FileUploadInvalidArgumentsError:
    case ErrorCode.FileUploadReadFileDataError:
    case undefined:
      return new NotifierError(NotifierErrorCode.Retryable, 'Slack is unreachable', undefined, { cause: err });
    default:
      return new NotifierError(NotifierErrorCode.Retryable, 'Slack call failed', undefined, { cause: err });
  }
}
