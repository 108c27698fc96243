import { Option, type Command } from 'commander';
import { OUTPUT_FORMATS, type OutputFormat } from '../credential-formats';
import { EXIT_CODES, action, duration, readOptionFile, timeoutOption } from '../cli-program';
import { Exit, ExitError } from '../cli-errors';

interface RequestOptions {
  env: string;
  reason: string;
  ttl?: number;
  timeout: number;
  wait: boolean;
  plan?: string;
  session?: string;
  format: OutputFormat;
}

/** The options every command that asks for a credential shares (request, helpers). */
export function askOptions(command: Command, reason: 'required' | 'optional'): Command {
  command.requiredOption('--env <ENV>', 'environment (required)');
  if (reason === 'required') {
    command.requiredOption('--reason <TEXT>', 'why; shown to approvers (required)');
  } else {
    command.option('--reason <TEXT>', 'why; shown to approvers (default names the helper)');
  }
  return command
    .option(
      '--ttl <DURATION>',
      "lifetime, e.g. 15m (default: the environment's default; above the maximum is refused)",
      duration,
    )
    .addOption(timeoutOption('how long to wait for approval'));
}

export function formatOption(): Option {
  return new Option('--format <FORMAT>', 'how the credential is printed on stdout')
    .choices(OUTPUT_FORMATS)
    .default('json');
}

/** `leash request ROLE --env ENV --reason TEXT [--ttl D] [--plan FILE] [--session ID] [--wait] [--format F]` */
export function requestCommand(program: Command): void {
  const command = program
    .command('request')
    .summary('ask for a credential; --wait for approval')
    .description(
      'Creates an access request. Auto-approved requests are claimed at once; others print the pending request ' +
        '(approval URL, risk, quorum; with --format other than json nothing, exit 4) unless --wait, which shows progress on stderr (spinner, elapsed time, ' +
        'approval URL, quorum) and claims the credential once approved. Ctrl-C while waiting cancels the request; ' +
        'so does --timeout (exit 4). A request left pending can be claimed later with leash claim REQUEST_ID.',
    )
    .argument('<ROLE>', 'role id from the policy');
  askOptions(command, 'required')
    .option('--wait', 'wait for a human approval')
    .option('--plan <FILE>', 'attach the proposed change (e.g. terraform plan output); shown to approvers')
    .option('--session <ID>', 'agent session (default LEASH_SESSION); its leases end with the session')
    .addOption(formatOption())
    .addHelpText('after', `\nThe credential goes to stdout only; everything else to stderr.\n${EXIT_CODES}\n`)
    .action(
      action(async (role: string, options: RequestOptions) => {
        const plan = options.plan === undefined ? undefined : readOptionFile('--plan', options.plan);
        const { cliConfig, client } = await import('../cli-context.js');
        const { obtainCredential } = await import('../obtain-credential.js');
        const { formatCredential } = await import('../credential-formats.js');
        const obtained = await obtainCredential(client(), {
          role,
          environment: options.env,
          reason: options.reason,
          ttlSeconds: options.ttl,
          sessionId: options.session ?? cliConfig().session,
          plan,
          wait: options.wait,
          agent: 'leash-cli',
          timeoutSeconds: options.timeout,
        });
        if (obtained.kind === 'pending') {
          if (options.format !== 'json') {
            // stdout carries only what was asked for: the request's JSON is no shell export (`eval` would run it).
            const id = obtained.request.id;
            throw new ExitError(
              Exit.Expired,
              `request ${id} is pending: no credential to print as ${options.format} yet; once approved: ` +
                `leash claim ${id} --format ${options.format} (or ask with --wait)`,
            );
          }
          process.stdout.write(`${JSON.stringify(obtained.request, null, 2)}\n`);
          return Exit.Ok;
        }
        process.stdout.write(formatCredential(obtained.claim, options.format));
        return Exit.Ok;
      }),
    );
}
