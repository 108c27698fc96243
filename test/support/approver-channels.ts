import { createHmac, randomBytes } from 'node:crypto';
import type { FakeSlack, SlackMessageRecord } from '../fakes/slack/fake-slack';
import { eventually } from './eventually';

const buttonsOf = (m: SlackMessageRecord): any[] => m.blocks.find((b) => b.type === 'actions')?.elements ?? [];

/** Signed Slack interactivity callbacks, as Slack sends them when a user clicks Leash's buttons. */
export class SlackClicker {
  constructor(
    private readonly apiUrl: string,
    private readonly slack: FakeSlack,
    private readonly signingSecret: string,
  ) {}

  /** The approval message Leash posted for a request (waits for the worker to post it). */
  message(requestId: string): Promise<SlackMessageRecord> {
    return eventually(
      () =>
        [...this.slack.messages.values()].find((m) =>
          buttonsOf(m).some((b) => b.value === requestId || String(b.url).endsWith(requestId)),
        ),
      20_000,
    );
  }

  ephemeralsTo(user: string): number {
    return this.slack.ephemerals.filter((e) => e.user === user).length;
  }

  /** Clicks Approve on the request's message as `user`; resolves with the HTTP status of the acknowledgement. */
  async approve(requestId: string, user: string): Promise<number> {
    const m = await this.message(requestId);
    const actions = m.blocks.find((b) => b.type === 'actions');
    const button = buttonsOf(m).find((b) => b.action_id === 'leash_approve');
    const payload = {
      type: 'block_actions',
      user: { id: user, username: user.toLowerCase(), team_id: 'T0LEASH' },
      api_app_id: 'A0LEASH',
      token: 'deprecated-verification-token',
      container: { type: 'message', message_ts: m.ts, channel_id: m.channel, is_ephemeral: false },
      trigger_id: `${Date.now()}.1234.${randomBytes(8).toString('hex')}`,
      team: { id: 'T0LEASH', domain: 'leash-test' },
      channel: { id: m.channel, name: 'leash-approvals' },
      message: { type: 'message', ts: m.ts, text: m.text, blocks: m.blocks },
      response_url: 'https://hooks.slack.com/actions/T0LEASH/1/xyz',
      actions: [
        {
          action_id: 'leash_approve',
          block_id: actions?.block_id,
          text: button?.text,
          value: button?.value ?? requestId,
          type: 'button',
          action_ts: `${Date.now() / 1000}`,
        },
      ],
    };
    const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = `v0=${createHmac('sha256', this.signingSecret).update(`v0:${ts}:${body}`).digest('hex')}`;
    const res = await fetch(`${this.apiUrl}/slack/interactions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': ts,
        'x-slack-signature': signature,
      },
      body,
    });
    await res.text();
    return res.status;
  }
}

/** A web-console session over plain HTTP: the development sign-in, its cookie and its CSRF token. */
export class ConsoleSession {
  private constructor(
    private readonly apiUrl: string,
    private readonly cookie: string,
    private readonly csrf: string,
  ) {}

  static async devLogin(
    apiUrl: string,
    who: { subject: string; email?: string; groups?: string[]; mfa?: boolean },
  ): Promise<ConsoleSession> {
    const page = await fetch(`${apiUrl}/console/login`, { headers: { accept: 'text/html' } });
    const preLogin = cookieOf(page, 'leash_login');
    await page.text();
    const form = new URLSearchParams({
      _csrf: preLogin,
      subject: who.subject,
      ...(who.email ? { email: who.email } : {}),
      groups: (who.groups ?? []).join(','),
      ...(who.mfa ? { mfa: 'yes' } : {}),
      returnTo: '/console',
    });
    const login = await fetch(`${apiUrl}/console/login/dev`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `leash_login=${preLogin}` },
      body: form.toString(),
    });
    if (login.status !== 303) {
      throw new Error(`console dev login: HTTP ${login.status} ${await login.text()}`);
    }
    const cookie = `leash_console=${cookieOf(login, 'leash_console')}`;
    const home = await fetch(`${apiUrl}/console`, { headers: { cookie, accept: 'text/html' } });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await home.text())?.[1];
    if (!csrf) {
      throw new Error('console: no CSRF token on the page');
    }
    return new ConsoleSession(apiUrl, cookie, csrf);
  }

  /** GETs a console page (e.g. `/console/requests/req-…`) as this session; resolves with its status and HTML. */
  async get(path: string): Promise<{ status: number; html: string }> {
    const res = await fetch(`${this.apiUrl}${path}`, { headers: { cookie: this.cookie, accept: 'text/html' } });
    return { status: res.status, html: await res.text() };
  }

  /**
   * Posts the approve or deny form of a request; resolves with the HTTP status (303 when done). `fields` adds
   * form fields, e.g. `{confirmEnvironment: 'production'}` that approving a high or critical request needs.
   */
  async decide(requestId: string, decision: 'approve' | 'deny', fields: Record<string, string> = {}): Promise<number> {
    const res = await fetch(`${this.apiUrl}/console/requests/${requestId}/${decision}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: this.cookie },
      body: new URLSearchParams({ ...fields, _csrf: this.csrf }).toString(),
    });
    await res.text();
    return res.status;
  }
}

function cookieOf(res: Response, name: string): string {
  for (const header of res.headers.getSetCookie()) {
    const match = new RegExp(`^${name}=([^;]*)`).exec(header);
    if (match) {
      return match[1];
    }
  }
  throw new Error(`no ${name} cookie in the answer`);
}
