import { createHmac, randomBytes } from 'node:crypto';
import { LeashStack } from '../support/leash-stack';
import { FakeSlack, type SlackMessageRecord } from '../fakes/slack/fake-slack';

const BOT_TOKEN = `xoxb-${randomBytes(12).toString('hex')}`;
const SIGNING_SECRET = randomBytes(16).toString('hex');
const CHANNELS = { '#leash-approvals': 'C0APPROVALS', '#prod-approvals': 'C0PRODAPPR' };
const agent = { subject: 'agent-slack', owner: 'bob', groups: [] as string[] };

async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 20000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const flat = (m: SlackMessageRecord): string => JSON.stringify(m.blocks);
const buttonsOf = (m: SlackMessageRecord): any[] => m.blocks.find((b) => b.type === 'actions')?.elements ?? [];
const actionsBlockId = (m: SlackMessageRecord): string => m.blocks.find((b) => b.type === 'actions').block_id;

describe('Slack approvals through the real @slack/web-api client and a fake Slack', () => {
  let slack: FakeSlack;
  let stack: LeashStack;
  let agentToken: string;
  let aliceToken: string;

  beforeAll(async () => {
    slack = await FakeSlack.start(BOT_TOKEN, CHANNELS);
    stack = await LeashStack.start({
      name: 'slack',
      env: {
        LEASH_SLACK_BOT_TOKEN: BOT_TOKEN,
        LEASH_SLACK_SIGNING_SECRET: SIGNING_SECRET,
        LEASH_SLACK_CHANNEL: '#leash-approvals',
        LEASH_SLACK_ROUTES: 'role:demo-prod-quick=#prod-approvals',
        LEASH_SLACK_API_URL: slack.url,
        LEASH_NOTIFY_BACKOFF_MS: '100',
        LEASH_NOTIFY_ATTEMPTS: '10',
      },
      policy: (doc) => {
        const roles = doc.roles as any[];
        const write = roles.find((r) => r.id === 'demo-prod-write');
        roles.push({ ...write, id: 'demo-prod-web', approval: { ...write.approval, channels: ['web', 'api'] } });
        roles.push({ ...write, id: 'demo-prod-quick', approval: { ...write.approval, timeout: '2s' } });
        // Slack approvals of one approver: the demo's risk routing (two approvers with MFA, web only, for
        // high/critical) would keep the risky plans here out of Slack; demo-routing.e2e-spec covers it.
        delete doc.riskRouting;
        return doc;
      },
    });
    agentToken = await stack.devToken(agent);
    aliceToken = await stack.devToken({ subject: 'alice' });
  });

  afterAll(async () => {
    await stack?.stop();
    await slack?.stop();
  });

  const createRequest = async (role = 'demo-prod-write', context: Record<string, string> = {}) => {
    const created = await stack.call('POST', '/v1/requests', {
      token: agentToken,
      body: {
        role,
        environment: 'production',
        ttlSeconds: 600,
        reason: 'rotate the <!channel> cache & restart',
        session: { id: 'sess-slack', agent: 'codex', host: 'laptop-7' },
        context,
      },
    });
    expect(created.status).toBe(201);
    return created.body as { id: string; digest: string };
  };

  const messageOf = (id: string, channel = 'C0APPROVALS'): SlackMessageRecord | undefined =>
    [...slack.messages.values()].find(
      (m) => m.channel === channel && buttonsOf(m).some((b) => b.value === id || String(b.url).endsWith(id)),
    );
  const posted = (id: string, channel?: string) => waitFor(() => messageOf(id, channel), `the message of ${id}`);
  const messageSays = (id: string, text: string) =>
    waitFor(() => {
      const m = messageOf(id);
      return m && flat(m).includes(text) ? m : undefined;
    }, `the message of ${id} to say "${text}"`);

  const send = (
    body: string,
    opts: { timestamp?: number; secret?: string; signature?: string; contentType?: string } = {},
  ) => {
    const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
    const signature =
      opts.signature ??
      `v0=${createHmac('sha256', opts.secret ?? SIGNING_SECRET)
        .update(`v0:${ts}:${body}`)
        .digest('hex')}`;
    return fetch(`${stack.url}/slack/interactions`, {
      method: 'POST',
      headers: {
        'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': ts,
        'x-slack-signature': signature,
      },
      body,
    });
  };
  const formOf = (payload: unknown): string => `payload=${encodeURIComponent(JSON.stringify(payload))}`;

  /** A block_actions payload as Slack sends it when `user` clicks `actionId` on Leash's message. */
  const click = (
    message: SlackMessageRecord,
    user: string,
    actionId: 'leash_approve' | 'leash_deny',
    blockId?: string,
  ) => {
    const button = buttonsOf(message).find((b) => b.action_id === actionId);
    return {
      type: 'block_actions',
      user: { id: user, username: user.toLowerCase(), team_id: 'T0LEASH' },
      api_app_id: 'A0LEASH',
      token: 'deprecated-verification-token',
      container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
      trigger_id: `${Date.now()}.1234.${randomBytes(8).toString('hex')}`,
      team: { id: 'T0LEASH', domain: 'leash-test' },
      channel: { id: message.channel, name: 'leash-approvals' },
      message: { type: 'message', ts: message.ts, text: message.text, blocks: message.blocks },
      response_url: 'https://hooks.slack.com/actions/T0LEASH/1/xyz',
      actions: [
        {
          action_id: actionId,
          block_id: blockId ?? actionsBlockId(message),
          text: button.text,
          value: button.value,
          type: 'button',
          action_ts: `${Date.now() / 1000}`,
        },
      ],
    };
  };
  const ephemeralTo = (user: string, text: string) =>
    waitFor(() => slack.ephemerals.find((e) => e.user === user && e.text.includes(text)), `an ephemeral to ${user}`);
  const stateOf = async (id: string) => (await stack.call('GET', `/v1/requests/${id}`, { token: agentToken })).body;

  it('posts one Block Kit message per request that needs approval, with everything an approver needs', async () => {
    const plan = `# aws_s3_bucket.logs will be destroyed\n${'x'.repeat(900)}\n<@U0ALICE> \`\`\` end`;
    const req = await createRequest('demo-prod-write', { plan });
    const m = await posted(req.id);
    expect(m.channel).toBe('C0APPROVALS');
    const text = flat(m);
    for (const expected of [
      'agent-slack',
      'bob',
      'sess-slack',
      'codex',
      'laptop-7',
      'demo-prod-write',
      'production',
      '10m',
    ]) {
      expect(text).toContain(expected);
    }
    expect(text).toContain('0 of 1: prod-approvers');
    expect(text).toMatch(/HIGH|CRITICAL|MEDIUM/);
    expect(text).toContain('Affects production environment');
    // Agent text cannot ping the channel or mention people; the plan is truncated with a console link.
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<@U0ALICE>');
    expect(text).toContain(`${stack.url}/console/requests/${req.id}|full plan in the console`);
    expect(text).not.toContain('x'.repeat(700));
    const buttons = buttonsOf(m);
    expect(buttons.find((b) => b.action_id === 'leash_approve')).toMatchObject({ value: req.id, style: 'primary' });
    expect(buttons.find((b) => b.action_id === 'leash_deny')).toMatchObject({ value: req.id, style: 'danger' });
    expect(actionsBlockId(m)).toBe(`leash_decide:${req.digest}`);
    expect(slack.posts.filter((p) => p.ts === m.ts)).toHaveLength(1);

    // Auto-approved requests are not announced; role routes pick the channel.
    const before = slack.callsOf('chat.postMessage').length;
    const auto = await stack.call('POST', '/v1/requests', {
      token: agentToken,
      body: { role: 'demo-staging-read', environment: 'staging', ttlSeconds: 60, reason: 'read' },
    });
    expect(auto.body.state).toBe('approved');
    const routed = await createRequest('demo-prod-quick');
    await posted(routed.id, 'C0PRODAPPR');
    expect(slack.callsOf('chat.postMessage').length).toBe(before + 1);
  });

  it('a signed Approve click approves the request and the message shows who approved', async () => {
    const req = await createRequest();
    const m = await posted(req.id);
    const res = await send(formOf(click(m, 'U0ALICE', 'leash_approve')));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    const view = await waitFor(async () => {
      const r = await stateOf(req.id);
      return r.state === 'approved' ? r : undefined;
    }, 'approval');
    expect(view.approvals).toEqual([expect.objectContaining({ approver: 'alice', channel: 'slack' })]);
    const updated = await messageSays(req.id, 'Approved by *alice*');
    expect(buttonsOf(updated).map((b) => b.action_id)).toEqual(['leash_open']);

    // Claimed, then revoked: the message follows.
    const claim = await stack.call('POST', `/v1/requests/${req.id}/credentials`, { token: agentToken });
    expect(claim.status).toBe(201);
    await messageSays(req.id, `lease \`${claim.body.lease.id}\``);
    const revoke = await stack.call('DELETE', `/v1/leases/${claim.body.lease.id}`, { token: agentToken });
    expect(revoke.status).toBe(200);
    await messageSays(req.id, 'revoked');
  });

  it('refuses forged, stale, replayed and malformed callbacks with 401/400 problem+json and records nothing', async () => {
    const req = await createRequest();
    const m = await posted(req.id);
    const body = formOf(click(m, 'U0ALICE', 'leash_approve'));

    const forged = await send(body, { secret: 'not-the-signing-secret' });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('content-type')).toContain('application/problem+json');
    expect(((await forged.json()) as any).type).toMatch(/bad-signature$/);

    const tampered = await send(body.replace('U0ALICE', 'U0DAVE'), {
      signature: `v0=${createHmac('sha256', SIGNING_SECRET)
        .update(`v0:${Math.floor(Date.now() / 1000)}:${body}`)
        .digest('hex')}`,
    });
    expect(tampered.status).toBe(401);

    const stale = await send(body, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as any).detail).toContain('5 minutes');

    const unsigned = await fetch(`${stack.url}/slack/interactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(unsigned.status).toBe(401);

    const ts = Math.floor(Date.now() / 1000);
    const malformed = await send('payload=%7Bnot-json', { timestamp: ts });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toContain('application/problem+json');

    const huge = await send(`payload=${'a'.repeat(200_000)}`);
    expect(huge.status).toBe(413);

    expect((await stateOf(req.id)).state).toBe('pending');

    // A valid callback works once; the identical signed request replayed is refused.
    const firstTs = Math.floor(Date.now() / 1000);
    const first = await send(body, { timestamp: firstTs });
    expect(first.status).toBe(200);
    const replay = await send(body, { timestamp: firstTs });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as any).type).toMatch(/bad-signature$/);
    await waitFor(async () => ((await stateOf(req.id)).state === 'approved' ? true : undefined), 'approval');
    const health = await fetch(`${stack.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('refuses unknown Slack users, the owner and non-approvers with an ephemeral message and an audit event', async () => {
    const req = await createRequest();
    const m = await posted(req.id);

    expect((await send(formOf(click(m, 'U0NOBODY', 'leash_approve')))).status).toBe(200);
    await ephemeralTo('U0NOBODY', 'not linked to a Leash approver');

    expect((await send(formOf(click(m, 'U0BOB', 'leash_approve')))).status).toBe(200);
    await ephemeralTo('U0BOB', 'owner');

    expect((await send(formOf(click(m, 'U0CAROL', 'leash_approve')))).status).toBe(200);
    await ephemeralTo('U0CAROL', 'prod-approvers');

    expect((await stateOf(req.id)).state).toBe('pending');
    const redis = stack.redis.client();
    try {
      const events = await waitFor(async () => {
        const rows = await redis.xrange('{leash}:audit', '-', '+');
        const refused = rows
          .map(([, fields]) => JSON.parse(fields[1]))
          .filter((e) => e.action === 'slack.interaction_refused' && e.requestId === req.id);
        return refused.length >= 3 ? refused : undefined;
      }, 'audit events');
      expect(events.map((e: any) => e.details.reason).sort()).toEqual([
        'not_approver',
        'self_approval',
        'unknown_user',
      ]);
      expect(events.every((e: any) => e.actor.channel === 'slack')).toBe(true);
    } finally {
      redis.disconnect();
    }
  });

  it('two approvers clicking at once with quorum 1 record exactly one approval', async () => {
    const req = await createRequest();
    const m = await posted(req.id);
    const [a, d] = await Promise.all([
      send(formOf(click(m, 'U0ALICE', 'leash_approve'))),
      send(formOf(click(m, 'U0DAVE', 'leash_approve'))),
    ]);
    expect([a.status, d.status]).toEqual([200, 200]);
    const view = await waitFor(async () => {
      const r = await stateOf(req.id);
      return r.state === 'approved' ? r : undefined;
    }, 'approval');
    const loser = view.approvals[0].approver === 'alice' ? 'U0DAVE' : 'U0ALICE';
    await ephemeralTo(loser, 'already approved').catch((err) => {
      throw new Error(
        `${String(err)}; ephemerals: ${JSON.stringify(slack.ephemerals)}; api log: ${stack.api.log.slice(-3000)}`,
      );
    });
    expect((await stateOf(req.id)).approvals).toHaveLength(1);
  });

  it('Deny opens a modal; submitting it denies with the comment and the message says so', async () => {
    const req = await createRequest();
    const m = await posted(req.id);
    const clicked = click(m, 'U0DAVE', 'leash_deny');
    expect((await send(formOf(clicked))).status).toBe(200);
    const opened = await waitFor(() => slack.views.find((v) => v.trigger_id === clicked.trigger_id), 'views.open');
    expect(opened.view.callback_id).toBe('leash_deny_modal');
    expect((await stateOf(req.id)).state).toBe('pending');

    const submission = {
      type: 'view_submission',
      team: { id: 'T0LEASH' },
      user: { id: 'U0DAVE', username: 'dave' },
      trigger_id: `${Date.now()}.1.${randomBytes(4).toString('hex')}`,
      view: {
        ...opened.view,
        id: 'V0DENY',
        state: {
          values: {
            leash_comment: { leash_comment_input: { type: 'plain_text_input', value: 'not during the freeze' } },
          },
        },
      },
    };
    const res = await send(formOf(submission));
    expect(res.status).toBe(200);
    const denied = await waitFor(async () => {
      const r = await stateOf(req.id);
      return r.state === 'denied' ? r : undefined;
    }, 'denial');
    expect(denied.state).toBe('denied');
    await messageSays(req.id, 'not during the freeze');
    await messageSays(req.id, 'Denied by *dave*');
  });

  it('web-only roles answer Slack clicks with an ephemeral link to the console', async () => {
    const req = await createRequest('demo-prod-web');
    const m = await posted(req.id);
    expect((await send(formOf(click(m, 'U0ALICE', 'leash_approve')))).status).toBe(200);
    const e = await ephemeralTo('U0ALICE', 'web console only');
    expect(e.text).toContain(`${stack.url}/console/requests/${req.id}`);
    expect((await stateOf(req.id)).state).toBe('pending');
  });

  it('a button bound to another digest is refused (what was shown is what gets approved)', async () => {
    const req = await createRequest();
    const m = await posted(req.id);
    const other = `leash_decide:${'0'.repeat(64)}`;
    expect((await send(formOf(click(m, 'U0ALICE', 'leash_approve', other)))).status).toBe(200);
    await ephemeralTo('U0ALICE', 'changed since this message was posted');
    expect((await stateOf(req.id)).state).toBe('pending');
  });

  it('updates the message when a request is cancelled or expires', async () => {
    const cancelled = await createRequest();
    await posted(cancelled.id);
    expect((await stack.call('DELETE', `/v1/requests/${cancelled.id}`, { token: agentToken })).status).toBe(200);
    await messageSays(cancelled.id, 'Cancelled');

    const quick = await createRequest('demo-prod-quick');
    await posted(quick.id, 'C0PRODAPPR');
    await waitFor(() => {
      const m = messageOf(quick.id, 'C0PRODAPPR');
      return m && flat(m).includes('Expired') ? m : undefined;
    }, 'the expired message');
  });

  it('honours Retry-After when Slack answers 429', async () => {
    slack.failNext('chat.postMessage', 429, 2);
    const calls = slack.callsOf('chat.postMessage').length;
    const req = await createRequest();
    await posted(req.id);
    const [limited, retried] = slack.callsOf('chat.postMessage').slice(calls);
    expect(limited.status).toBe(429);
    expect(retried.status).toBe(200);
    // The retry waited at least Retry-After (a lower bound, not a timing threshold).
    expect(retried.at - limited.at).toBeGreaterThanOrEqual(2000);
  });

  it('a Slack outage never blocks approval through the API; the message catches up afterwards', async () => {
    slack.setDown(true);
    try {
      const req = await createRequest();
      const approved = await stack.call('POST', `/v1/requests/${req.id}/approve`, { token: aliceToken, body: {} });
      expect(approved.status).toBe(200);
      expect(approved.body.state).toBe('approved');
      const claim = await stack.call('POST', `/v1/requests/${req.id}/credentials`, { token: agentToken });
      expect(claim.status).toBe(201);
      await waitFor(() => (slack.calls.filter((c) => c.status === 500).length > 0 ? true : undefined), 'a failed call');
      slack.setDown(false);
      await waitFor(
        () => {
          const m = messageOf(req.id);
          return m && flat(m).includes(claim.body.lease.id) ? m : undefined;
        },
        'the message after the outage',
        40000,
      );
    } finally {
      slack.setDown(false);
    }
  });

  it('leaks neither the bot token nor the signing secret into logs or Redis', async () => {
    const haystack = [stack.api.log, stack.worker.log, await stack.redis.dump()].join('\n');
    expect(haystack).not.toContain(BOT_TOKEN);
    expect(haystack).not.toContain(SIGNING_SECRET);
  });
});
