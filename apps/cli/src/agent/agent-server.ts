import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { SessionEventSchema, type LeaseView, type SessionEventBody } from '@leash/contracts';
import { BrokerProblem, BrokerUnreachable } from '../broker-client';
import { Exit, ExitError } from '../cli-errors';
import { MAX_MESSAGE_BYTES, type AgentCredential, type AgentRequest, type AgentStatus } from './agent-protocol';

const name = z.string().min(1).max(128);
const RequestSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('hello') }),
  z.strictObject({
    op: z.literal('credential'),
    role: name,
    environment: name,
    reason: z.string().min(1).max(2000).optional(),
    ttlSeconds: z.number().int().positive().optional(),
    minRemainingSeconds: z.number().int().min(0).max(86400).optional(),
    wait: z.boolean().optional(),
    tool: z.string().max(64).optional(),
  }),
  z.strictObject({ op: z.literal('identity') }),
  z.strictObject({ op: z.literal('set-identity'), token: z.string().min(1).max(16384) }),
  z.strictObject({ op: z.literal('forget'), leaseId: name }),
  z.strictObject({ op: z.literal('status') }),
  z.strictObject({ op: z.literal('adopt'), requestId: name }),
  SessionEventSchema.extend({ op: z.literal('event') }),
]);

export interface AgentHandlers {
  credential(ask: Extract<AgentRequest, { op: 'credential' }>): Promise<AgentCredential>;
  identity(): Promise<string | undefined>;
  setIdentity(token: string): void;
  forget(leaseId: string): boolean;
  adopt(requestId: string): Promise<LeaseView>;
  event(body: SessionEventBody): Promise<{ id?: string }>;
  status(): AgentStatus;
}

/** Maps any failure to the exit code the helper process should end with; never echoes a secret. */
export function toAgentError(err: unknown): { ok: false; exitCode: number; message: string } {
  if (err instanceof ExitError) {
    return { ok: false, exitCode: err.code, message: err.message };
  }
  if (err instanceof BrokerUnreachable) {
    return { ok: false, exitCode: Exit.Unreachable, message: err.message };
  }
  if (err instanceof BrokerProblem) {
    const reasons = (err.problem.reasons ?? []).map((r) => `\n  - ${r}`).join('');
    const exitCode =
      err.status === 401
        ? Exit.Unauthenticated
        : err.status === 403
          ? Exit.Denied
          : err.status === 503
            ? Exit.Unreachable
            : Exit.Failure;
    return { ok: false, exitCode, message: `${err.message}${reasons}` };
  }
  return { ok: false, exitCode: Exit.Failure, message: err instanceof Error ? err.message : String(err) };
}

/** The session agent's Unix socket: 0600 in a private 0700 directory under $XDG_RUNTIME_DIR or the temp dir. */
export class AgentSocketServer {
  private constructor(
    private readonly server: Server,
    readonly dir: string,
    readonly path: string,
  ) {}

  static async start(handlers: AgentHandlers, runtimeDir?: string): Promise<AgentSocketServer> {
    const dir = mkdtempSync(join(runtimeDir || tmpdir(), 'leash-agent-'));
    chmodSync(dir, 0o700);
    const path = join(dir, 'agent.sock');
    const server = createServer((socket) => serve(socket, handlers));
    // The umask covers the window between bind() and chmod(): the socket is never group/world accessible.
    const previous = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
    } finally {
      process.umask(previous);
    }
    chmodSync(path, 0o600);
    return new AgentSocketServer(server, dir, path);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous cleanup for process exit paths. */
  removeNow(): void {
    this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function serve(socket: Socket, handlers: AgentHandlers): void {
  let buffer = '';
  let handled = false;
  const reply = (body: unknown): void => {
    if (!socket.destroyed) {
      socket.end(`${JSON.stringify(body)}\n`);
    }
  };
  socket.setTimeout(30_000, () => {
    if (!handled) {
      socket.destroy();
    }
  });
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    if (handled) {
      return;
    }
    buffer += chunk.toString('utf8');
    if (buffer.length > MAX_MESSAGE_BYTES) {
      handled = true;
      reply({ ok: false, exitCode: Exit.Usage, message: 'request too large' });
      return;
    }
    const end = buffer.indexOf('\n');
    if (end < 0) {
      return;
    }
    handled = true;
    socket.setTimeout(0);
    void handle(buffer.slice(0, end), handlers).then(reply);
  });
}

async function handle(line: string, handlers: AgentHandlers): Promise<unknown> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { ok: false, exitCode: Exit.Usage, message: 'malformed request: not JSON' };
  }
  const parsed = RequestSchema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, exitCode: Exit.Usage, message: `malformed request: ${parsed.error.issues[0]?.message}` };
  }
  const request = parsed.data;
  try {
    switch (request.op) {
      case 'hello':
        return { ok: true, sessionId: handlers.status().sessionId };
      case 'credential':
        return { ok: true, ...(await handlers.credential(request)) };
      case 'identity':
        return { ok: true, token: await handlers.identity() };
      case 'set-identity':
        handlers.setIdentity(request.token);
        return { ok: true };
      case 'forget':
        return { ok: true, forgotten: handlers.forget(request.leaseId) };
      case 'status':
        return { ok: true, ...handlers.status() };
      case 'adopt':
        return { ok: true, lease: await handlers.adopt(request.requestId) };
      case 'event': {
        const { op: _op, ...body } = request;
        return { ok: true, ...(await handlers.event(body)) };
      }
    }
  } catch (err) {
    return toAgentError(err);
  }
}
