import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { MCP_TOOLS, type ToolResult } from './mcp-tools';

const SUPPORTED_PROTOCOLS = ['2025-06-18', '2025-03-26', '2024-11-05'];
const MAX_LINE = 1024 * 1024;

type Id = string | number;
interface RpcMessage {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

export const RpcError = {
  Parse: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
} as const;

/**
 * A Model Context Protocol server over stdio: newline-delimited JSON-RPC 2.0 messages on stdin/stdout
 * (MCP stdio transport). Logs go to stderr only.
 */
export class McpServer {
  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly version: string,
  ) {}

  run(): Promise<void> {
    const lines = createInterface({ input: this.input, crlfDelay: Infinity });
    const inflight = new Set<Promise<void>>();
    lines.on('line', (line) => {
      if (line.trim() === '') {
        return;
      }
      const task = this.onLine(line).catch((err: unknown) => {
        process.stderr.write(`leash mcp: ${err instanceof Error ? err.message : String(err)}\n`);
      });
      inflight.add(task);
      void task.finally(() => inflight.delete(task));
    });
    return new Promise((resolve) =>
      lines.on('close', () => {
        void Promise.allSettled([...inflight]).then(() => resolve());
      }),
    );
  }

  private send(message: Record<string, unknown>): void {
    this.output.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  }

  private fail(id: Id | null, code: number, message: string): void {
    this.send({ id, error: { code, message } });
  }

  private async onLine(line: string): Promise<void> {
    if (line.length > MAX_LINE) {
      this.fail(null, RpcError.InvalidRequest, 'message too large');
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.fail(null, RpcError.Parse, 'parse error');
      return;
    }
    if (Array.isArray(message)) {
      // JSON-RPC batches (allowed by 2025-03-26, removed by 2025-06-18): answer each.
      await Promise.all(message.map((m) => this.onMessage(m)));
      return;
    }
    await this.onMessage(message);
  }

  private async onMessage(raw: unknown): Promise<void> {
    const m = (raw && typeof raw === 'object' ? raw : {}) as RpcMessage;
    const id = typeof m.id === 'string' || typeof m.id === 'number' ? m.id : undefined;
    if (m.jsonrpc !== '2.0' || typeof m.method !== 'string') {
      if (id !== undefined || !('result' in m || 'error' in m)) {
        this.fail(id ?? null, RpcError.InvalidRequest, 'invalid request');
      }
      return;
    }
    if (id === undefined) {
      return; // a notification (e.g. notifications/initialized, notifications/cancelled): nothing to answer
    }
    const params = (m.params && typeof m.params === 'object' ? m.params : {}) as Record<string, unknown>;
    switch (m.method) {
      case 'initialize': {
        const asked = typeof params.protocolVersion === 'string' ? params.protocolVersion : '';
        this.send({
          id,
          result: {
            protocolVersion: SUPPORTED_PROTOCOLS.includes(asked) ? asked : SUPPORTED_PROTOCOLS[0],
            capabilities: { tools: { listChanged: false } },
            serverInfo: { name: 'leash', version: this.version },
            instructions:
              'Leash grants short-lived, approved credentials. Ask with request_access, follow with access_status. ' +
              'These tools never return secrets: once access is issued, run your usual tool (aws, kubectl, gcloud); ' +
              'it obtains the credential itself through leash credential-process / kube-exec / gcp-token.',
          },
        });
        return;
      }
      case 'ping':
        this.send({ id, result: {} });
        return;
      case 'tools/list':
        this.send({
          id,
          result: {
            tools: MCP_TOOLS.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
          },
        });
        return;
      case 'tools/call':
        await this.callTool(id, params);
        return;
      default:
        this.fail(id, RpcError.MethodNotFound, `method not found: ${m.method}`);
    }
  }

  private async callTool(id: Id, params: Record<string, unknown>): Promise<void> {
    const tool = MCP_TOOLS.find((t) => t.name === params.name);
    if (!tool) {
      this.fail(id, RpcError.InvalidParams, `unknown tool: ${String(params.name)}`);
      return;
    }
    const args = params.arguments ?? {};
    const parsed = tool.parse(args);
    if (!parsed.ok) {
      this.send({ id, result: textResult({ error: parsed.message }, true) });
      return;
    }
    let result: ToolResult;
    try {
      result = await tool.run(parsed.value);
    } catch (err) {
      // Tool failures are results the model can read, not protocol errors (MCP spec).
      result = { error: err instanceof Error ? err.message : String(err) };
      this.send({ id, result: textResult(result, true) });
      return;
    }
    this.send({ id, result: textResult(result, false) });
  }
}

function textResult(value: ToolResult, isError: boolean): Record<string, unknown> {
  return {
    content: [{ type: 'text', text: JSON.stringify(value, null, 2) }],
    structuredContent: value,
    isError,
  };
}
