import type { Command } from 'commander';
import { action } from '../cli-program';

/** `leash mcp`: the stdio MCP server (tools request_access, access_status, list_leases, revoke, report_progress). */
export function mcpCommand(program: Command): void {
  program
    .command('mcp')
    .summary('stdio MCP server: request_access, access_status, list_leases, revoke, report_progress')
    .description(
      'A Model Context Protocol server on stdio (the official MCP SDK) with tools:\n' +
        '  request_access {role, environment, reason, ttl?, plan?}   state, risk, approval URL; never a secret\n' +
        '  access_status {requestId}                                 pending / issued / denied / expired\n' +
        '  list_leases {session?, state?}                            lease ids, roles, expiry\n' +
        '  revoke {leaseId?, session?}                               one lease, or every lease of a session\n' +
        '  report_progress {message, level?, step?}                  what the agent is doing, on its session dashboard ' +
        "Run it under leash run (the agent's MCP config starts `leash mcp`): approved access is then claimed into the " +
        "agent's memory and the agent's tools pick it up through their helpers.",
    )
    .action(
      action(async () => {
        const { serveMcp } = await import('../mcp/mcp-server.js');
        return serveMcp();
      }),
    );
}
