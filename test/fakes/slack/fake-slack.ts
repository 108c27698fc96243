import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A wire-compatible fake of the Slack Web API methods Leash uses (chat.postMessage, chat.update,
 * chat.postEphemeral, views.open, auth.test). Like Slack: form-encoded or JSON POSTs to /api/<method>,
 * the bot token as a Bearer header, HTTP 200 with `{ok:false, error}` for API errors, and Block Kit
 * limits enforced (https://api.slack.com/reference/block-kit). It can answer 429 with Retry-After or 500.
 */
export interface SlackMessageRecord {
  channel: string;
  ts: string;
  text: string;
  blocks: any[];
}

export interface SlackCall {
  method: string;
  at: number;
  status: number;
  error?: string;
  args: Record<string, unknown>;
}

interface Failure {
  method: string;
  status: 429 | 500;
  retryAfterSeconds?: number;
}

const BLOCK_TYPES = new Set(['header', 'section', 'context', 'divider', 'actions', 'input', 'image', 'rich_text']);

export class FakeSlack {
  readonly calls: SlackCall[] = [];
  /** Latest content of every message, by `${channel}/${ts}`. */
  readonly messages = new Map<string, SlackMessageRecord>();
  readonly posts: SlackMessageRecord[] = [];
  readonly updates: SlackMessageRecord[] = [];
  readonly ephemerals: { channel: string; user: string; text: string }[] = [];
  readonly views: { trigger_id: string; view: any }[] = [];
  private failures: Failure[] = [];
  private down = false;
  private seq = 0;
  private usedTriggers = new Set<string>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly token: string,
    private readonly channels: Record<string, string>,
  ) {}

  /** `channels` maps names (`#leash-approvals`) to ids (`C0APPROVALS`); both are accepted. */
  static async start(token: string, channels: Record<string, string>): Promise<FakeSlack> {
    const holder: { fake?: FakeSlack } = {};
    const server = createServer((req, res) => void holder.fake?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeSlack(server, `http://127.0.0.1:${port}/api/`, token, channels);
    holder.fake = fake;
    return fake;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  /** The next call of `method` fails with this status (429 carries Retry-After). */
  failNext(method: string, status: 429 | 500, retryAfterSeconds?: number): void {
    this.failures.push({ method, status, retryAfterSeconds });
  }

  /** While down, every call answers HTTP 500 (a Slack outage). */
  setDown(down: boolean): void {
    this.down = down;
  }

  callsOf(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0];
    const args = parseArgs(req.headers['content-type'] ?? '', raw);
    const reply = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void => {
      this.calls.push({
        method,
        at: Date.now(),
        status,
        ...(body.ok === false ? { error: String(body.error) } : {}),
        args,
      });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || !(req.url ?? '').startsWith('/api/')) {
      return reply(404, { ok: false, error: 'unknown_method' });
    }
    if (this.down) {
      return reply(500, { ok: false, error: 'internal_error' });
    }
    const failure = this.failures.findIndex((f) => f.method === method);
    if (failure !== -1) {
      const [f] = this.failures.splice(failure, 1);
      return f.status === 429
        ? reply(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(f.retryAfterSeconds ?? 1) })
        : reply(500, { ok: false, error: 'internal_error' });
    }
    const auth = req.headers.authorization ?? (typeof args.token === 'string' ? `Bearer ${args.token}` : undefined);
    if (!auth) {
      return reply(200, { ok: false, error: 'not_authed' });
    }
    if (auth !== `Bearer ${this.token}`) {
      return reply(200, { ok: false, error: 'invalid_auth' });
    }
    const result = this.dispatch(method, args);
    return reply(200, result);
  }

  private dispatch(method: string, args: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://leash-test.slack.com/',
          team: 'Leash Test',
          user: 'leash',
          team_id: 'T0LEASH',
          user_id: 'U0LEASHBOT',
          bot_id: 'B0LEASH',
        };
      case 'chat.postMessage':
        return this.postMessage(args);
      case 'chat.update':
        return this.update(args);
      case 'chat.postEphemeral':
        return this.postEphemeral(args);
      case 'views.open':
        return this.viewsOpen(args);
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  private channelId(value: unknown): string | undefined {
    if (typeof value !== 'string') {
      return undefined;
    }
    if (value in this.channels) {
      return this.channels[value];
    }
    return Object.values(this.channels).includes(value) ? value : undefined;
  }

  private content(args: Record<string, unknown>): { text: string; blocks: any[] } | { error: string } {
    const text = typeof args.text === 'string' ? args.text : '';
    let blocks: any[] = [];
    if (args.blocks !== undefined) {
      try {
        blocks = typeof args.blocks === 'string' ? JSON.parse(args.blocks) : args.blocks;
      } catch {
        return { error: 'invalid_blocks_format' };
      }
      const problem = validateBlocks(blocks);
      if (problem) {
        return { error: 'invalid_blocks' };
      }
    }
    if (!text && blocks.length === 0) {
      return { error: 'no_text' };
    }
    if (text.length > 40000) {
      return { error: 'msg_too_long' };
    }
    return { text, blocks };
  }

  private postMessage(args: Record<string, unknown>): Record<string, unknown> {
    const channel = this.channelId(args.channel);
    if (!channel) {
      return { ok: false, error: 'channel_not_found' };
    }
    const content = this.content(args);
    if ('error' in content) {
      return { ok: false, error: content.error };
    }
    this.seq += 1;
    const ts = `1700000000.${String(this.seq).padStart(6, '0')}`;
    const record = { channel, ts, ...content };
    this.posts.push(record);
    this.messages.set(`${channel}/${ts}`, record);
    return { ok: true, channel, ts, message: { type: 'message', text: content.text, ts, bot_id: 'B0LEASH' } };
  }

  private update(args: Record<string, unknown>): Record<string, unknown> {
    const channel = this.channelId(args.channel);
    if (!channel) {
      return { ok: false, error: 'channel_not_found' };
    }
    const key = `${channel}/${String(args.ts)}`;
    if (!this.messages.has(key)) {
      return { ok: false, error: 'message_not_found' };
    }
    const content = this.content(args);
    if ('error' in content) {
      return { ok: false, error: content.error };
    }
    const record = { channel, ts: String(args.ts), ...content };
    this.updates.push(record);
    this.messages.set(key, record);
    return { ok: true, channel, ts: record.ts, text: content.text };
  }

  private postEphemeral(args: Record<string, unknown>): Record<string, unknown> {
    const channel = this.channelId(args.channel);
    if (!channel) {
      return { ok: false, error: 'channel_not_found' };
    }
    if (typeof args.user !== 'string' || !/^[UW][A-Z0-9]+$/.test(args.user)) {
      return { ok: false, error: 'user_not_found' };
    }
    const content = this.content(args);
    if ('error' in content) {
      return { ok: false, error: content.error };
    }
    this.ephemerals.push({ channel, user: args.user, text: content.text });
    this.seq += 1;
    return { ok: true, message_ts: `1700000000.${String(this.seq).padStart(6, '0')}` };
  }

  private viewsOpen(args: Record<string, unknown>): Record<string, unknown> {
    const trigger = typeof args.trigger_id === 'string' ? args.trigger_id : '';
    if (!/^\d+\.\d+\.[a-f0-9]+$/.test(trigger)) {
      return { ok: false, error: 'invalid_trigger_id' };
    }
    if (this.usedTriggers.has(trigger)) {
      return { ok: false, error: 'exchanged_trigger_id' };
    }
    let view: any;
    try {
      view = JSON.parse(String(args.view));
    } catch {
      return { ok: false, error: 'invalid_arguments' };
    }
    const problem =
      view?.type !== 'modal'
        ? 'type'
        : !plainText(view.title, 24)
          ? 'title'
          : view.submit !== undefined && !plainText(view.submit, 24)
            ? 'submit'
            : typeof view.private_metadata === 'string' && view.private_metadata.length > 3000
              ? 'private_metadata'
              : validateBlocks(view.blocks ?? []);
    if (problem) {
      return { ok: false, error: 'invalid_arguments', response_metadata: { messages: [problem] } };
    }
    this.usedTriggers.add(trigger);
    this.views.push({ trigger_id: trigger, view });
    return { ok: true, view: { id: `V0${this.views.length}`, ...view } };
  }
}

function parseArgs(contentType: string, raw: string): Record<string, unknown> {
  if (contentType.includes('application/json')) {
    try {
      return JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

function plainText(t: any, max: number): boolean {
  return t?.type === 'plain_text' && typeof t.text === 'string' && t.text.length > 0 && t.text.length <= max;
}

function textObject(t: any, max: number): boolean {
  return (
    (t?.type === 'plain_text' || t?.type === 'mrkdwn') &&
    typeof t.text === 'string' &&
    t.text.length > 0 &&
    t.text.length <= max
  );
}

/** Block Kit limits Slack enforces; the first violation, or undefined. */
export function validateBlocks(blocks: any[]): string | undefined {
  if (!Array.isArray(blocks) || blocks.length > 50) {
    return 'blocks: at most 50';
  }
  const blockIds = new Set<string>();
  for (const [i, b] of blocks.entries()) {
    if (!BLOCK_TYPES.has(b?.type)) {
      return `blocks[${i}].type`;
    }
    if (b.block_id !== undefined) {
      if (typeof b.block_id !== 'string' || b.block_id.length > 255 || blockIds.has(b.block_id)) {
        return `blocks[${i}].block_id`;
      }
      blockIds.add(b.block_id);
    }
    switch (b.type) {
      case 'header':
        if (!plainText(b.text, 150)) {
          return `blocks[${i}].text`;
        }
        break;
      case 'section':
        if (b.text === undefined && b.fields === undefined) {
          return `blocks[${i}]: text or fields`;
        }
        if (b.text !== undefined && !textObject(b.text, 3000)) {
          return `blocks[${i}].text`;
        }
        if (
          b.fields !== undefined &&
          (!Array.isArray(b.fields) || b.fields.length > 10 || !b.fields.every((f: any) => textObject(f, 2000)))
        ) {
          return `blocks[${i}].fields`;
        }
        break;
      case 'context':
        if (
          !Array.isArray(b.elements) ||
          b.elements.length === 0 ||
          b.elements.length > 10 ||
          !b.elements.every((e: any) => textObject(e, 3000))
        ) {
          return `blocks[${i}].elements`;
        }
        break;
      case 'actions':
        if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 25) {
          return `blocks[${i}].elements`;
        }
        for (const e of b.elements) {
          const bad =
            e.type !== 'button' ||
            !plainText(e.text, 75) ||
            typeof e.action_id !== 'string' ||
            e.action_id.length > 255 ||
            (e.value !== undefined && (typeof e.value !== 'string' || e.value.length > 2000)) ||
            (e.url !== undefined && (typeof e.url !== 'string' || e.url.length > 3000)) ||
            (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger');
          if (bad) {
            return `blocks[${i}].elements`;
          }
        }
        break;
      case 'input':
        if (
          !plainText(b.label, 2000) ||
          typeof b.element?.type !== 'string' ||
          typeof b.element.action_id !== 'string'
        ) {
          return `blocks[${i}]: label and element`;
        }
        break;
      default:
        break;
    }
  }
  return undefined;
}
