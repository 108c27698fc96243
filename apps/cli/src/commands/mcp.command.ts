import { parseArgs } from 'node:util';
import { Exit } from '../cli-errors';
import { McpServer } from '../mcp/mcp-server';
import { LEASH_VERSION } from '../help';

/** `leash mcp`: the stdio MCP server (tools request_access, access_status, list_leases, revoke). */
export async function mcpCommand(args: string[]): Promise<number> {
  parseArgs({ args, options: {} });
  await new McpServer(process.stdin, process.stdout, LEASH_VERSION).run();
  return Exit.Ok;
}
