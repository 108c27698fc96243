import { z } from 'zod';
import { ApprovalError, ApprovalErrorCode } from '../approval.errors';

/** action_id of the message buttons and callback_id of the deny modal (a contract with the Slack app). */
export const SlackIds = {
  approve: 'leash_approve',
  deny: 'leash_deny',
  open: 'leash_open',
  decideBlockPrefix: 'leash_decide:',
  denyModal: 'leash_deny_modal',
  commentBlock: 'leash_comment',
  commentInput: 'leash_comment_input',
} as const;

export const SLACK_COMMENT_MAX = 500;

const requestId = z.string().regex(/^req-[a-z2-7]{20}$/);
const digest = z.string().regex(/^[a-f0-9]{64}$/);
const slackId = z.string().regex(/^[A-Z0-9]{2,32}$/);

const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: slackId }),
  trigger_id: z.string().max(255).optional(),
  channel: z.object({ id: slackId }).optional(),
  container: z.object({ channel_id: slackId.optional() }).optional(),
  actions: z
    .array(
      z.object({
        action_id: z.string().max(255),
        block_id: z.string().max(255).optional(),
        value: z.string().max(2000).optional(),
      }),
    )
    .min(1)
    .max(25),
});

const denyMetadataSchema = z.object({ r: requestId, d: digest, c: slackId });
export type DenyModalMetadata = z.infer<typeof denyMetadataSchema>;

const viewSubmissionSchema = z.object({
  type: z.literal('view_submission'),
  user: z.object({ id: slackId }),
  view: z.object({
    callback_id: z.string().max(255),
    private_metadata: z.string().max(3000),
    state: z
      .object({
        values: z.record(z.string(), z.record(z.string(), z.object({ value: z.string().nullish() }).loose())),
      })
      .optional(),
  }),
});

interface Target {
  user: string;
  requestId: string;
  digest: string;
  channel: string;
}

export type SlackInteraction =
  | ({ kind: 'approve' } & Target)
  | ({ kind: 'deny_clicked'; triggerId: string } & Target)
  | ({ kind: 'deny_submitted'; comment?: string } & Target)
  /** Anything else Slack sends us (the console link button, other views): acknowledged and ignored. */
  | { kind: 'ignored' };

const bad = (why: string): ApprovalError => new ApprovalError(ApprovalErrorCode.BadInteraction, why);

/** Parses the `payload` field of a verified interaction callback into what Leash should do. */
export function parseSlackInteraction(payload: string | undefined): SlackInteraction {
  if (payload === undefined) {
    throw bad('the body has no payload field');
  }
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    throw bad('payload is not JSON');
  }
  const type = (json as { type?: unknown } | null)?.type;
  if (type === 'block_actions') {
    return fromBlockActions(json);
  }
  if (type === 'view_submission') {
    return fromViewSubmission(json);
  }
  return { kind: 'ignored' };
}

function fromBlockActions(json: unknown): SlackInteraction {
  const parsed = blockActionsSchema.safeParse(json);
  if (!parsed.success) {
    throw bad('block_actions payload is malformed');
  }
  const p = parsed.data;
  const action = p.actions[0];
  if (action.action_id !== SlackIds.approve && action.action_id !== SlackIds.deny) {
    return { kind: 'ignored' };
  }
  const channel = p.channel?.id ?? p.container?.channel_id;
  const id = requestId.safeParse(action.value);
  const d = digest.safeParse(action.block_id?.slice(SlackIds.decideBlockPrefix.length));
  if (!channel || !id.success || !d.success || !action.block_id?.startsWith(SlackIds.decideBlockPrefix)) {
    throw bad('the button carries no valid request id, digest or channel');
  }
  const target: Target = { user: p.user.id, requestId: id.data, digest: d.data, channel };
  if (action.action_id === SlackIds.approve) {
    return { kind: 'approve', ...target };
  }
  if (!p.trigger_id) {
    throw bad('a deny click without trigger_id');
  }
  return { kind: 'deny_clicked', triggerId: p.trigger_id, ...target };
}

function fromViewSubmission(json: unknown): SlackInteraction {
  const parsed = viewSubmissionSchema.safeParse(json);
  if (!parsed.success) {
    throw bad('view_submission payload is malformed');
  }
  const { user, view } = parsed.data;
  if (view.callback_id !== SlackIds.denyModal) {
    return { kind: 'ignored' };
  }
  let meta: DenyModalMetadata;
  try {
    meta = denyMetadataSchema.parse(JSON.parse(view.private_metadata));
  } catch {
    throw bad('the deny form carries no valid request reference');
  }
  const raw = view.state?.values[SlackIds.commentBlock]?.[SlackIds.commentInput]?.value ?? '';
  const comment = raw.trim().slice(0, SLACK_COMMENT_MAX);
  return {
    kind: 'deny_submitted',
    user: user.id,
    requestId: meta.r,
    digest: meta.d,
    channel: meta.c,
    ...(comment ? { comment } : {}),
  };
}
