import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { LeashStack } from '../support/leash-stack';
import { LEASH_BIN, startLeash, stopAllLeash } from '../support/leash-cli';

const agent = { subject: 'agent-mcp', owner: 'bob' };

interface Connected {
  client: Client;
  transport: StdioClientTransport;
  /** Every JSON-RPC message the client received, as sent. */
  transcript: string[];
  stderr: () => string;
}

/** Starts `leash ARGS` with the official MCP SDK client over stdio (StdioClientTransport spawns it). */
async function connect(args: string[], env: Record<string, string>): Promise<Connected> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [LEASH_BIN, ...args],
    env: { PATH: process.env.PATH ?? '', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'leash-e2e', version: '1.0.0' });
  await client.connect(transport);
  const transcript: string[] = [];
  const deliver = transport.onmessage;
  transport.onmessage = (message: JSONRPCMessage) => {
    transcript.push(JSON.stringify(message));
    deliver?.(message);
  };
  return { client, transport, transcript, stderr: () => stderr };
}

const structured = (result: unknown): Record<string, any> =>
  (result as CallToolResult).structuredContent as Record<string, any>;
const text = (result: unknown): string =>
  ((result as CallToolResult).content as { type: string; text: string }[]).map((c) => c.text).join('\n');

describe('leash mcp with the official MCP SDK client (stdio)', () => {
  let stack: LeashStack;
  let agentToken: string;
  let aliceToken: string;
  let home: string;
  const open: Connected[] = [];

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    HOME: home,
    XDG_RUNTIME_DIR: home,
    LEASH_URL: stack.url,
    LEASH_TOKEN: agentToken,
    ...extra,
  });

  beforeAll(async () => {
    stack = await LeashStack.start({
      name: 'mcp',
      // One approver approves the agent's request here; the demo's risk routing (two approvers with MFA for
      // the high-risk ALTER TABLE plan) is covered by demo-routing.e2e-spec.
      policy: (doc) => {
        delete doc.riskRouting;
        return doc;
      },
    });
    agentToken = await stack.devToken(agent);
    aliceToken = await stack.devToken({ subject: 'alice' });
    home = mkdtempSync(join(tmpdir(), 'leash-mcp-'));
  });

  afterAll(async () => {
    for (const c of open) {
      const pid = c.transport.pid;
      await c.client.close().catch(() => undefined);
      if (pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    stopAllLeash();
    await stack?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('lists every tool with a JSON-object input schema the SDK accepts, on a current protocol version', async () => {
    const c = await connect(['mcp'], env());
    open.push(c);
    expect(c.client.getServerVersion()).toMatchObject({ name: 'leash' });
    expect(c.client.getInstructions()).toContain('never return secrets');
    const { tools } = await c.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'access_status',
      'list_leases',
      'report_progress',
      'request_access',
      'revoke',
    ]);
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type).toBe('object');
    }
    const requestAccess = tools.find((t) => t.name === 'request_access');
    expect(requestAccess?.inputSchema.required).toEqual(['role', 'environment', 'reason']);
    // Tool errors are results the model can read; the server stays up.
    const invalid = await c.client.callTool({ name: 'request_access', arguments: { role: 'demo-prod-write' } });
    expect(invalid.isError).toBe(true);
    expect(text(invalid)).toContain('environment');
    const unknown = await c.client.callTool({ name: 'nope', arguments: {} });
    expect(unknown.isError).toBe(true);
    const both = await c.client.callTool({ name: 'revoke', arguments: { leaseId: 'lease-x', session: 's' } });
    expect(both.isError).toBe(true);
    expect(text(both)).toContain('exactly one of leaseId or session');
    // Outside an agent session there is nobody to report progress for: a clear tool error.
    const progress = await c.client.callTool({ name: 'report_progress', arguments: { message: 'planning' } });
    expect(progress.isError).toBe(true);
    expect(text(progress)).toContain('needs an agent session');
    // The broker's refusal reaches the model as a tool error, not a crash.
    const unreachable = await c.client.callTool({ name: 'access_status', arguments: { requestId: 'req-nope' } });
    expect(unreachable.isError).toBe(true);
    expect(await c.client.ping()).toEqual({});
  });

  it('under leash run: request_access → approval → issued into the agent, list, revoke, report_progress; no secret in any result', async () => {
    const c = await connect(['run', '--session', 'mcp-sess', '--', process.execPath, LEASH_BIN, 'mcp'], env());
    open.push(c);
    const sock = /socket (\S+)/.exec(c.stderr())?.[1] as string;
    expect(sock).toBeDefined();

    const asked = await c.client.callTool({
      name: 'request_access',
      arguments: {
        role: 'demo-prod-write',
        environment: 'production',
        reason: 'apply migration 7',
        ttl: '20m',
        plan: 'ALTER TABLE orders ADD COLUMN note text;',
      },
    });
    expect(asked.isError).toBeFalsy();
    expect(structured(asked)).toMatchObject({ state: 'pending', quorum: '0 of 1: prod-approvers' });
    expect(structured(asked).approvalUrl).toMatch(/^http/);
    const requestId = structured(asked).requestId as string;
    const view = await stack.call('GET', `/v1/requests/${requestId}`, { token: aliceToken });
    expect(view.body.session).toMatchObject({ id: 'mcp-sess' });
    expect(structured(await c.client.callTool({ name: 'access_status', arguments: { requestId } })).state).toBe(
      'pending',
    );

    expect(
      (await stack.call('POST', `/v1/requests/${requestId}/approve`, { token: aliceToken, body: {} })).status,
    ).toBe(200);
    const issued = structured(await c.client.callTool({ name: 'access_status', arguments: { requestId } }));
    expect(issued).toMatchObject({ state: 'issued' });
    expect(issued.leaseId).toMatch(/^lease-/);
    expect(issued.next).toContain('Run your tool');

    // The tool's helper gets the adopted credential from the agent's memory, without a second approval.
    const helper = startLeash(
      ['gcp-token', 'demo-prod-write', '--env', 'production'],
      env({ LEASH_AGENT_SOCK: sock, LEASH_TOKEN: '' }),
    );
    const got = await helper.exited;
    expect(got.code).toBe(0);
    const secret = JSON.parse(got.stdout).id_token as string;
    stack.issuedSecrets.push(secret);
    expect(JSON.parse(Buffer.from(secret.split('.')[1], 'base64url').toString()).jti).toBe(issued.leaseId);

    const listed = structured(await c.client.callTool({ name: 'list_leases', arguments: {} }));
    expect(listed.leases).toEqual([
      expect.objectContaining({ leaseId: issued.leaseId, state: 'active', session: 'mcp-sess' }),
    ]);

    // report_progress posts to the session's event feed (POST /v1/sessions/:id/events) as the session.
    const progress = await c.client.callTool({
      name: 'report_progress',
      arguments: { step: 'apply', level: 'warn', message: 'applying migration 7' },
    });
    expect(progress.isError).toBeFalsy();
    expect(structured(progress)).toEqual({ session: 'mcp-sess', recorded: true });
    const feed = await stack.call('GET', '/v1/sessions/mcp-sess/events', { token: agentToken });
    expect(feed.status).toBe(200);
    expect(feed.body.events).toEqual([
      expect.objectContaining({
        sessionId: 'mcp-sess',
        step: 'apply',
        level: 'warn',
        kind: 'log',
        message: 'applying migration 7',
        by: 'agent-mcp',
      }),
    ]);
    // A step that is not a workflow step is refused by the tool's schema, before the broker.
    const badStep = await c.client.callTool({
      name: 'report_progress',
      arguments: { step: 'deploying', message: 'x' },
    });
    expect(badStep.isError).toBe(true);

    const revoked = structured(await c.client.callTool({ name: 'revoke', arguments: { leaseId: issued.leaseId } }));
    expect(revoked).toMatchObject({ revoked: [issued.leaseId], state: 'revoked' });
    const lease = await stack.call('GET', `/v1/leases/${issued.leaseId}`, { token: aliceToken });
    expect(lease.body.state).toBe('revoked');

    const everything = c.transcript.join('\n');
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(secret.split('.')[2]);
    expect(everything).not.toContain(agentToken);

    await c.client.close();
    expect(await stack.leakedSecrets()).toEqual([]);
  });
});
