import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Exit } from '../cli-errors';
import { LEASH_VERSION } from '../version';
import { MCP_TOOLS, type LeashTool } from './mcp-tools';

const INSTRUCTIONS =
  'Leash grants short-lived, approved credentials. Ask with request_access, follow with access_status. ' +
  'These tools never return secrets: once access is issued, run your usual tool (aws, kubectl, gcloud); ' +
  'it obtains the credential itself through leash credential-process / kube-exec / gcp-token. ' +
  'Report what you are doing with report_progress.';

/** The Leash tools on an MCP server of the official SDK (protocol negotiation, validation, errors). */
export function createMcpServer(): McpServer {
  const server = new McpServer({ name: 'leash', version: LEASH_VERSION }, { instructions: INSTRUCTIONS });
  for (const tool of MCP_TOOLS) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.input,
        outputSchema: tool.output,
        annotations: { readOnlyHint: tool.readOnly, openWorldHint: false },
      },
      (args: unknown) => callTool(tool, args),
    );
  }
  return server;
}

async function callTool(tool: LeashTool, args: unknown): Promise<CallToolResult> {
  try {
    const result = await tool.run(args as never);
    return { content: [{ type: 'text', text: JSON.stringify(result, null, 2) }], structuredContent: result };
  } catch (err) {
    // Failures are results the model can read (MCP spec), never protocol errors; messages hold no secret.
    const message = err instanceof Error ? err.message : String(err);
    return { content: [{ type: 'text', text: JSON.stringify({ error: message }) }], isError: true };
  }
}

/** `leash mcp`: serves on stdin/stdout until the client closes stdin. Logs go to stderr only. */
export async function serveMcp(): Promise<number> {
  const server = createMcpServer();
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close().catch(() => undefined);
  return Exit.Ok;
}
