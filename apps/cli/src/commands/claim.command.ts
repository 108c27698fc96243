import type { Command } from 'commander';
import type { OutputFormat } from '../credential-formats';
import { EXIT_CODES, action, requestId, timeoutOption } from '../cli-program';
import { Exit, ExitError } from '../cli-errors';
import { formatOption } from './request.command';

interface ClaimOptions {
  wait: boolean;
  timeout: number;
  format: OutputFormat;
}

/** `leash claim REQUEST_ID [--wait] [--timeout D] [--format F]`: the credential of an approved request. */
export function claimCommand(program: Command): void {
  program
    .command('claim')
    .summary('claim the credential of an approved request (--wait while it is pending)')
    .description(
      'Claims the credential of an approved request made earlier (e.g. leash request without --wait, or through ' +
        'leash mcp) and prints it. Only the requester may claim, once. A pending request is an error (exit 4) ' +
        'unless --wait, which waits for the decision with progress on stderr; the request stays pending when ' +
        '--timeout passes. A denied request exits 3; an expired or cancelled one 4.',
    )
    .argument('<REQUEST_ID>', 'the request id (req-...)', requestId)
    .option('--wait', 'wait for the approval while the request is pending')
    .addOption(timeoutOption('how long to wait for approval'))
    .addOption(formatOption())
    .addHelpText('after', `\nThe credential goes to stdout only; everything else to stderr.\n${EXIT_CODES}\n`)
    .action(
      action(async (id: string, options: ClaimOptions) => {
        const { client } = await import('../cli-context.js');
        const { claimDecided, waitForDecision } = await import('../obtain-credential.js');
        const { formatCredential } = await import('../credential-formats.js');
        const api = client();
        const view = await api.getRequest(id);
        let state: string = view.state;
        if (state === 'pending') {
          if (!options.wait) {
            throw new ExitError(
              Exit.Expired,
              `request ${id} is still pending (${view.quorum.progress}); approve at ${view.approvalUrl}, or use --wait`,
            );
          }
          process.stderr.write(
            `leash: ${id} needs approval (${view.quorum.progress}); approve at ${view.approvalUrl}\n`,
          );
          state = await waitForDecision(api, view, {
            timeoutSeconds: options.timeout,
            cancelOnTimeout: false,
            cancelOnSigint: false,
          });
        }
        if (state === 'issued') {
          throw new ExitError(Exit.Failure, `request ${id} was claimed already (lease ${view.leaseId ?? '?'})`);
        }
        process.stdout.write(formatCredential(await claimDecided(api, id, state), options.format));
        return Exit.Ok;
      }),
    );
}
