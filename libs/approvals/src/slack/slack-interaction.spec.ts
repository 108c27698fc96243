import { ApprovalError } from '../approval.errors';
import { parseSlackInteraction } from './slack-interaction';

const id = 'req-bbbbbbbbbbbbbbbbbbbb';
const digest = 'c'.repeat(64);
const click = (action_id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: 'block_actions',
    user: { id: 'U0ALICE' },
    trigger_id: '1.2.ab',
    channel: { id: 'C0APPROVALS' },
    actions: [{ action_id, block_id: `leash_decide:${digest}`, value: id }],
    ...extra,
  });

describe('parseSlackInteraction', () => {
  const sut = parseSlackInteraction;

  it('reads Approve and Deny clicks with the request id, digest and channel', () => {
    expect(sut(click('leash_approve'))).toEqual({
      kind: 'approve',
      user: 'U0ALICE',
      requestId: id,
      digest,
      channel: 'C0APPROVALS',
    });
    expect(sut(click('leash_deny'))).toMatchObject({ kind: 'deny_clicked', triggerId: '1.2.ab' });
  });

  it('ignores the console link button and unrelated payload types', () => {
    expect(sut(click('leash_open'))).toEqual({ kind: 'ignored' });
    expect(sut(JSON.stringify({ type: 'shortcut' }))).toEqual({ kind: 'ignored' });
  });

  it.each([
    ['no payload', undefined],
    ['not JSON', '{nope'],
    [
      'a bad request id',
      click('leash_approve', {
        actions: [{ action_id: 'leash_approve', block_id: `leash_decide:${digest}`, value: 'req-../../x' }],
      }),
    ],
    ['no digest', click('leash_approve', { actions: [{ action_id: 'leash_approve', block_id: 'other', value: id }] })],
    ['a user id that is not one', click('leash_approve', { user: { id: 'alice<script>' } })],
    [
      'forged deny metadata',
      JSON.stringify({
        type: 'view_submission',
        user: { id: 'U0A' },
        view: { callback_id: 'leash_deny_modal', private_metadata: '{"r":"x"}' },
      }),
    ],
  ])('refuses %s', (_case, payload) => {
    expect(() => sut(payload)).toThrow(ApprovalError);
  });

  it('reads the optional comment of the deny modal, trimmed and bounded', () => {
    const submitted = sut(
      JSON.stringify({
        type: 'view_submission',
        user: { id: 'U0DAVE' },
        view: {
          callback_id: 'leash_deny_modal',
          private_metadata: JSON.stringify({ r: id, d: digest, c: 'C0APPROVALS' }),
          state: {
            values: {
              leash_comment: { leash_comment_input: { type: 'plain_text_input', value: `  ${'n'.repeat(900)} ` } },
            },
          },
        },
      }),
    );
    expect(submitted).toMatchObject({ kind: 'deny_submitted', user: 'U0DAVE', requestId: id });
    expect(submitted.kind === 'deny_submitted' && submitted.comment?.length).toBe(500);
  });
});
