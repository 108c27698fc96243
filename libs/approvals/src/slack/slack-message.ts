import type { AccessRequest } from '@leash/core';
import type { ApprovalOutcome } from '../approval-notifier.port';
import { evaluateQuorum } from '../quorum';
import { SLACK_COMMENT_MAX, SlackIds, type DenyModalMetadata } from './slack-interaction';

/** The subset of Block Kit Leash sends (typed here so business code never imports the SDK). */
export type SlackText = { type: 'plain_text' | 'mrkdwn'; text: string; emoji?: boolean };
export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] }
  | { type: 'divider' }
  | { type: 'actions'; block_id: string; elements: SlackButton[] }
  | {
      type: 'input';
      block_id: string;
      optional: boolean;
      label: SlackText;
      element: {
        type: 'plain_text_input';
        action_id: string;
        multiline: boolean;
        max_length: number;
        placeholder: SlackText;
      };
    };
export interface SlackButton {
  type: 'button';
  action_id: string;
  text: SlackText;
  value?: string;
  url?: string;
  style?: 'primary' | 'danger';
}

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

export const PLAN_EXCERPT_CHARS = 600;

/** Escapes the three characters Slack mrkdwn treats as control (so agent text cannot ping @channel or link). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const md = (text: string): SlackText => ({ type: 'mrkdwn', text });
const plain = (text: string, max: number): SlackText => ({ type: 'plain_text', text: clip(text, max), emoji: true });
const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function formatTtl(seconds: number): string {
  if (seconds % 3600 === 0) {
    return `${seconds / 3600}h`;
  }
  if (seconds % 60 === 0) {
    return `${seconds / 60}m`;
  }
  return `${seconds}s`;
}

/** One line saying where the request stands, derived from the latest outcome. */
export function statusLine(request: AccessRequest, outcome: ApprovalOutcome | undefined): string {
  const who = (names: string[]): string => names.map((n) => `*${escapeMrkdwn(n)}*`).join(', ');
  if (outcome === undefined) {
    const progress =
      request.approval.kind === 'quorum' ? evaluateQuorum(request.approval.requirements, []).progress : 'auto';
    return `:hourglass_flowing_sand: Awaiting approval · ${escapeMrkdwn(progress)}`;
  }
  switch (outcome.kind) {
    case 'approved': {
      const approvers = outcome.approvers ?? [outcome.by];
      if (!outcome.final && approvers.length === 0) {
        return `:hourglass_flowing_sand: Awaiting approval · ${escapeMrkdwn(outcome.progress)}`;
      }
      return outcome.final
        ? `:white_check_mark: Approved by ${who(approvers)} · ${escapeMrkdwn(outcome.progress)} · waiting for the agent to claim`
        : `:hourglass_flowing_sand: Approved by ${who(approvers)} · ${escapeMrkdwn(outcome.progress)} · more approvals needed`;
    }
    case 'denied':
      return `:no_entry: Denied by ${who([outcome.by])}${outcome.comment ? `: “${escapeMrkdwn(clip(outcome.comment, SLACK_COMMENT_MAX))}”` : ''}`;
    case 'expired':
      return request.closedReason
        ? `:hourglass: Closed: ${escapeMrkdwn(clip(request.closedReason, 300))}`
        : ':hourglass: Expired without a decision (or unclaimed)';
    case 'cancelled':
      return ':heavy_multiplication_x: Cancelled by the requester';
    case 'issued':
      return `:key: Claimed · credential issued as lease \`${escapeMrkdwn(outcome.leaseId)}\``;
    case 'revoked':
      return `:lock: Lease \`${escapeMrkdwn(outcome.leaseId)}\` revoked or expired · the credential no longer works`;
    default:
      return outcome satisfies never;
  }
}

/** The Block Kit message of one request; buttons only while it can still be decided. */
export function renderRequestMessage(
  request: AccessRequest,
  outcome: ApprovalOutcome | undefined,
  consoleUrl: string,
): SlackMessage {
  const e = escapeMrkdwn;
  const session = request.session
    ? [request.session.id, request.session.agent, request.session.host].filter(Boolean).join(' · ')
    : '—';
  const blocks: SlackBlock[] = [
    { type: 'header', text: plain(`Access request: ${request.role} @ ${request.environment}`, 150) },
    {
      type: 'section',
      fields: [
        md(`*Requester*\n${e(clip(request.principal, 200))}`),
        md(`*On behalf of*\n${e(clip(request.owner ?? '—', 200))}`),
        md(`*Agent session*\n${e(clip(session, 300))}`),
        md(`*Role*\n${e(request.role)}`),
        md(`*Environment*\n${e(request.environment)}`),
        md(`*TTL*\n${formatTtl(request.ttlSeconds)}`),
        md(`*Risk*\n${riskEmoji(request.risk.level)} ${request.risk.level.toUpperCase()}`),
        md(`*Request*\n\`${request.id}\``),
      ],
    },
    { type: 'section', text: md(`*Reason*\n${e(clip(request.reason, 1000))}`) },
  ];
  if (request.risk.reasons.length > 0) {
    const reasons = request.risk.reasons.slice(0, 10).map((r) => `• ${e(clip(r, 200))}`);
    blocks.push({ type: 'section', text: md(`*Risk reasons*\n${reasons.join('\n')}`) });
  }
  if (request.context.plan) {
    blocks.push({ type: 'section', text: md(planExcerpt(request.context.plan, consoleUrl)) });
  }
  blocks.push({ type: 'context', elements: [md(statusLine(request, outcome))] });
  const decidable = request.state === 'pending';
  const buttons: SlackButton[] = [
    ...(decidable
      ? [
          {
            type: 'button' as const,
            action_id: SlackIds.approve,
            text: plain('Approve', 75),
            value: request.id,
            style: 'primary' as const,
          },
          {
            type: 'button' as const,
            action_id: SlackIds.deny,
            text: plain('Deny…', 75),
            value: request.id,
            style: 'danger' as const,
          },
        ]
      : []),
    { type: 'button', action_id: SlackIds.open, text: plain('Open in console', 75), url: consoleUrl },
  ];
  blocks.push({ type: 'actions', block_id: `${SlackIds.decideBlockPrefix}${request.digest}`, elements: buttons });
  // The fallback text is mrkdwn too (notifications, screen readers): agent text is escaped here as in the blocks.
  const text = `Access request ${e(request.role)}@${e(request.environment)} by ${e(clip(request.principal, 200))}: ${statusLine(request, outcome)}`;
  return { text: clip(text, 3000), blocks };
}

function planExcerpt(plan: string, consoleUrl: string): string {
  // Keep the excerpt inside its code block whatever the agent wrote.
  const body = escapeMrkdwn(plan.slice(0, PLAN_EXCERPT_CHARS)).replace(/```/g, "'''");
  const more =
    plan.length > PLAN_EXCERPT_CHARS
      ? `\n_${plan.length - PLAN_EXCERPT_CHARS} more characters: <${consoleUrl}|full plan in the console>_`
      : '';
  return `*Plan*\n\`\`\`${body}\`\`\`${more}`;
}

function riskEmoji(level: AccessRequest['risk']['level']): string {
  switch (level) {
    case 'low':
      return ':large_green_circle:';
    case 'medium':
      return ':large_yellow_circle:';
    case 'high':
      return ':large_orange_circle:';
    case 'critical':
      return ':red_circle:';
    default:
      return level satisfies never;
  }
}

/** The modal that asks for an optional comment before denying. */
export function renderDenyModal(request: AccessRequest, meta: DenyModalMetadata) {
  return {
    type: 'modal' as const,
    callback_id: SlackIds.denyModal,
    private_metadata: JSON.stringify(meta),
    title: plain('Deny request', 24),
    submit: plain('Deny', 24),
    close: plain('Cancel', 24),
    blocks: [
      {
        type: 'section',
        text: md(
          `Deny *${escapeMrkdwn(request.role)}* @ *${escapeMrkdwn(request.environment)}* for ${escapeMrkdwn(request.principal)}?`,
        ),
      },
      {
        type: 'input',
        block_id: SlackIds.commentBlock,
        optional: true,
        label: plain('Comment (shown to the requester)', 2000),
        element: {
          type: 'plain_text_input',
          action_id: SlackIds.commentInput,
          multiline: true,
          max_length: SLACK_COMMENT_MAX,
          placeholder: plain('Why not?', 150),
        },
      },
    ] satisfies SlackBlock[],
  };
}
