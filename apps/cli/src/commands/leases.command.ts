import { Option, type Command } from 'commander';
import { EXIT_CODES, action } from '../cli-program';
import { Exit } from '../cli-errors';

interface LeasesOptions {
  session?: string;
  env?: string;
  role?: string;
  state?: string;
  cursor?: string;
  json: boolean;
}

/** `leash leases [--session ID] [--env ENV] [--role ROLE] [--state STATE] [--cursor NEXT] [--json]` */
export function leasesCommand(program: Command): void {
  program
    .command('leases')
    .summary('your leases (no secrets)')
    .description('Lists leases: requesters see their own, approvers and admins all. No secrets (fingerprints only).')
    .option('--session <ID>', 'only this agent session')
    .option('--env <ENV>', 'only this environment')
    .option('--role <ROLE>', 'only this role')
    .addOption(
      new Option('--state <STATE>', 'only this state').choices(['active', 'revoking', 'revoked', 'revocation_failed']),
    )
    .option('--cursor <NEXT>', 'the next page (the cursor the previous page printed, same filters)')
    .option('--json', 'JSON instead of a table')
    .addHelpText('after', `\n${EXIT_CODES}\n`)
    .action(
      action(async (options: LeasesOptions) => {
        const { client } = await import('../cli-context.js');
        const { leases, next } = await client().listLeases({
          session: options.session,
          environment: options.env,
          role: options.role,
          state: options.state,
          cursor: options.cursor,
        });
        if (next) {
          // The page is bounded; where a human looks, say how to go on (stdout stays the page itself).
          process.stderr.write(`leash: more leases: leash leases --cursor ${next} (same filters)\n`);
        }
        if (options.json) {
          process.stdout.write(`${JSON.stringify(leases, null, 2)}\n`);
          return Exit.Ok;
        }
        const rows = leases.map((l) => [l.id, l.state, l.role, l.environment, l.sessionId ?? '-', l.expiresAt]);
        const head = ['LEASE', 'STATE', 'ROLE', 'ENV', 'SESSION', 'EXPIRES'];
        const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
        const line = (r: string[]): string =>
          r
            .map((c, i) => c.padEnd(widths[i]))
            .join('  ')
            .trimEnd();
        process.stdout.write(`${[head, ...rows].map(line).join('\n')}\n`);
        return Exit.Ok;
      }),
    );
}
