import type { AccessRequest } from '@leash/core';
import { validateBlocks } from '../../../../test/fakes/slack/fake-slack';
import { PLAN_EXCERPT_CHARS, renderDenyModal, renderRequestMessage } from './slack-message';

const request: AccessRequest = {
  id: 'req-aaaaaaaaaaaaaaaaaaaa',
  state: 'pending',
  role: 'db-write',
  environment: 'production',
  ttlSeconds: 900,
  reason: 'hi <!here> <https://evil.example|click> & bye',
  principal: 'agent-1',
  issuer: 'https://idp',
  owner: 'bob',
  session: { id: 'sess-1', agent: 'codex' },
  context: { plan: 'p'.repeat(PLAN_EXCERPT_CHARS + 50) },
  decision: 'needs_approval',
  approval: {
    kind: 'quorum',
    requirements: [
      { groups: ['security'], quorum: 1 },
      { groups: ['sre'], quorum: 1 },
    ],
    timeoutSeconds: 900,
    claimWindowSeconds: 600,
  },
  provider: 'jwt',
  risk: { level: 'critical', reasons: ['Potential security risk'] },
  digest: 'a'.repeat(64),
  policyVersion: 'v1',
  createdAt: 0,
  expiresAt: 1,
};

describe('renderRequestMessage', () => {
  const sut = renderRequestMessage;

  it('shows quorum progress across groups and keeps within the Block Kit limits', () => {
    const message = sut(request, undefined, 'https://leash/console/req');
    expect(JSON.stringify(message.blocks)).toContain('0 of 2: security, sre');
    expect(validateBlocks(message.blocks)).toBeUndefined();
  });

  it('escapes agent-supplied text so it cannot mention, link or break out of the plan block', () => {
    const text = JSON.stringify(sut(request, undefined, 'https://leash/x').blocks);
    expect(text).not.toContain('<!here>');
    expect(text).not.toContain('<https://evil.example');
    expect(text).toContain('&lt;!here&gt;');
    expect(text).toContain('50 more characters: <https://leash/x|full plan in the console>');
  });

  it('escapes the top-level fallback text too, so a principal named like a mention cannot ping the channel', () => {
    for (const outcome of [
      undefined,
      { kind: 'denied' as const, by: 'eve <!here>', comment: '<!everyone> <@U123>' },
      { kind: 'approved' as const, by: 'x', final: true, progress: '1 of 1', approvers: ['<!subteam^S1>'] },
    ]) {
      const message = sut({ ...request, principal: 'agent-<!channel>', reason: 'r' }, outcome, 'https://leash/x');
      expect(message.text).not.toMatch(/<[!@#]/);
      expect(message.text).toContain('agent-&lt;!channel&gt;');
    }
  });

  it('drops the decision buttons once the request is decided, and names every approver', () => {
    const message = sut(
      { ...request, state: 'approved' },
      {
        kind: 'approved',
        by: 'dave',
        final: true,
        progress: '2 of 2: security, sre',
        approvers: ['alice', 'dave'],
      },
      'https://leash/x',
    );
    const actions = message.blocks.find((b) => b.type === 'actions');
    expect(actions && 'elements' in actions ? actions.elements.map((e) => e.action_id) : []).toEqual(['leash_open']);
    expect(message.text).toContain('Approved by *alice*, *dave*');
  });

  it('builds a deny modal Slack accepts', () => {
    const modal = renderDenyModal(request, { r: request.id, d: request.digest, c: 'C0APPROVALS' });
    expect(modal.title.text.length).toBeLessThanOrEqual(24);
    expect(validateBlocks(modal.blocks)).toBeUndefined();
    expect(JSON.parse(modal.private_metadata)).toEqual({ r: request.id, d: request.digest, c: 'C0APPROVALS' });
  });
});
