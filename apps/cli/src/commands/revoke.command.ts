import type { Command } from 'commander';
import { EXIT_CODES, action, leaseId } from '../cli-program';
import { Exit, UsageError } from '../cli-errors';

interface RevokeOptions {
  session?: string;
  env?: string;
  role?: string;
  principal?: string;
  reason?: string;
}

const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/** `leash revoke LEASE_ID | --session ID | --env ENV [--role ROLE] [--principal P] [--reason TEXT]` */
export function revokeCommand(program: Command): void {
  program
    .command('revoke')
    .summary('revoke a lease or a session now (--env/--role/--principal: break glass, admins)')
    .usage('LEASE_ID | --session ID | --env ENV [--role ROLE] [--principal P] [--reason TEXT]')
    .description(
      'Revokes one lease now (the session agent forgets it), or every lease of an agent session and cancels its ' +
        'open requests. Requesters may revoke their own; approvers and admins any. ' +
        'With --env/--role/--principal (admins only): break glass. Every unrevoked lease matching all the given ' +
        'selectors is revoked and matching pending or approved requests are cancelled; --reason goes into the audit ' +
        'trail. Prints what was revoked, what the worker is still revoking, and warnings (e.g. an unknown environment).',
    )
    .argument('[LEASE_ID]', 'the lease id (lease-...)', leaseId)
    .option('--session <ID>', 'revoke every lease of this agent session')
    .option('--env <ENV>', 'break glass: leases of this environment')
    .option('--role <ROLE>', 'break glass: leases of this role')
    .option('--principal <P>', 'break glass: leases of this principal (subject)')
    .option('--reason <TEXT>', 'break glass: why (audited)')
    .addHelpText('after', `\n${EXIT_CODES}\n`)
    .action(
      action(async (lease: string | undefined, options: RevokeOptions) => {
        const { cliConfig, client } = await import('../cli-context.js');
        const api = client();
        const breakGlass = options.env !== undefined || options.role !== undefined || options.principal !== undefined;
        if (breakGlass && lease === undefined && !options.session) {
          const result = (await api.breakGlass({
            environment: options.env,
            role: options.role,
            principal: options.principal,
            reason: options.reason,
          })) as { warnings?: string[] };
          // A typo matches nothing: say so where a human looks, not only inside the JSON.
          for (const warning of result.warnings ?? []) {
            process.stderr.write(`leash: warning: ${warning}\n`);
          }
          print(result);
          return Exit.Ok;
        }
        if (options.session && lease === undefined && !breakGlass) {
          print(await api.revokeSession(options.session));
          return Exit.Ok;
        }
        if (lease === undefined || options.session || breakGlass || options.reason !== undefined) {
          throw new UsageError(
            'leash revoke needs one LEASE_ID, or --session ID, or a break-glass selector (--env, --role, --principal)',
          );
        }
        const revoked = await api.revokeLease(lease);
        const socket = cliConfig().agentSocket;
        if (socket) {
          // The agent must not hand out what was just revoked.
          const { agentCall } = await import('../agent/agent-client.js');
          await agentCall(socket, { op: 'forget', leaseId: lease }, 10_000).catch(() => undefined);
        }
        print(revoked);
        return Exit.Ok;
      }),
    );
}
