import { BrokerProblem, BrokerUnreachable } from './broker-client';
import { Exit, ExitError, UsageError } from './cli-errors';
import { getCurrentCommand, takeExitCode } from './cli-program';
import { buildProgram, CommanderError } from './program';

export { Exit } from './cli-errors';

// commander's own outcomes that are not failures.
const HELP_CODES = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

export async function main(args: string[]): Promise<number> {
  // `leash help policy explain`, which usage errors of subcommands point at: commander's help command reads one word.
  const argv = args[0] === 'help' && args.length > 2 ? [...args.slice(1), '--help'] : args;
  const program = buildProgram();
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return Exit.Usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return takeExitCode();
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed the help or the one-line usage error already.
      return HELP_CODES.has(err.code) ? Exit.Ok : Exit.Usage;
    }
    return report(err, getCurrentCommand());
  }
}

function report(err: unknown, command: string | undefined): number {
  const write = (m: string): void => void process.stderr.write(`leash: ${m}\n`);
  if (err instanceof UsageError) {
    write(`${err.message}\n(see: leash help${command ? ` ${command}` : ''})`);
    return Exit.Usage;
  }
  if (err instanceof ExitError) {
    write(err.message);
    return err.code;
  }
  if (err instanceof BrokerUnreachable) {
    write(err.message);
    return Exit.Unreachable;
  }
  if (err instanceof BrokerProblem) {
    // The detail already says it when there is a single reason or field error.
    const extra = [
      ...(err.problem.reasons ?? []).map((r) => `  - ${r}`),
      ...(err.problem.errors ?? []).map((e) => `  - ${e.field}: ${e.message}`),
    ];
    const headline = extra.length > 1 ? `${err.problem.title ?? 'refused'}:` : err.message;
    // A refused token (expired, forged, untrusted issuer) is fixed on this side: say where a new one comes from.
    const hint =
      err.status === 401
        ? '; the broker refused the identity token: get a fresh one (LEASH_TOKEN, identityCommand or `leash login`)'
        : '';
    write(`${headline}${extra.length > 1 ? `\n${extra.join('\n')}` : ''}${hint}`);
    if (err.problem.type?.endsWith('/expired')) {
      return Exit.Expired;
    }
    if (err.status === 401) {
      return Exit.Unauthenticated;
    }
    if (err.status === 403) {
      return Exit.Denied;
    }
    if (err.status === 503) {
      return Exit.Unreachable;
    }
    if (err.status === 400) {
      return Exit.Usage;
    }
    return Exit.Failure;
  }
  write(err instanceof Error ? err.message : String(err));
  return Exit.Failure;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
