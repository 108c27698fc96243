import { BrokerProblem, BrokerUnreachable } from './broker-client';
import { Exit, ExitError, UsageError } from './cli-errors';
import { COMMAND_HELP, LEASH_VERSION, MAIN_HELP } from './help';

export { Exit } from './cli-errors';

type Command = (args: string[]) => Promise<number>;

// Loaded on use: a helper called by an SDK on every refresh (credential-process) loads only its own code.
const COMMANDS: Record<string, () => Promise<Command>> = {
  request: async () => (await import('./commands/request.command.js')).requestCommand,
  run: async () => (await import('./commands/run.command.js')).runCommand,
  'credential-process': async () => (await import('./commands/credential-helper.command.js')).credentialProcessCommand,
  'gcp-token': async () => (await import('./commands/credential-helper.command.js')).gcpTokenCommand,
  status: async () => (await import('./commands/simple.command.js')).statusCommand,
  leases: async () => (await import('./commands/simple.command.js')).leasesCommand,
  revoke: async () => (await import('./commands/simple.command.js')).revokeCommand,
  whoami: async () => (await import('./commands/simple.command.js')).whoamiCommand,
  login: async () => (await import('./commands/login.command.js')).loginCommand,
  approve: async () => {
    const { decideCommand } = await import('./commands/simple.command.js');
    return (args) => decideCommand('approve', args);
  },
  deny: async () => {
    const { decideCommand } = await import('./commands/simple.command.js');
    return (args) => decideCommand('deny', args);
  },
  mcp: async () => (await import('./commands/mcp.command.js')).mcpCommand,
  policy: async () => (await import('./commands/policy.command.js')).policyCommand,
  'kube-exec': async () => (await import('./commands/kube-exec.command.js')).kubeExecCommand,
  kubeconfig: async () => {
    const { kubeconfigCommand } = await import('./commands/kubeconfig.command.js');
    return (args) => Promise.resolve(kubeconfigCommand(args));
  },
  audit: async () => (await import('./commands/audit.command.js')).auditCommand,
};

/** Registers a subcommand (for commands added in their own files, e.g. kube-exec). */
export function registerCommand(name: string, command: Command, help: string): void {
  COMMANDS[name] = () => Promise.resolve(command);
  COMMAND_HELP[name] = help;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined) {
      process.stderr.write(MAIN_HELP);
      return Exit.Usage;
    }
    if (command === '-h' || command === '--help' || command === 'help') {
      const topic = command === 'help' ? rest[0] : undefined;
      if (topic !== undefined && !COMMAND_HELP[topic]) {
        throw new UsageError(`no help for unknown command "${topic}"`);
      }
      process.stdout.write(topic ? COMMAND_HELP[topic] : MAIN_HELP);
      return Exit.Ok;
    }
    if (command === '--version' || command === '-v') {
      process.stdout.write(`${LEASH_VERSION}\n`);
      return Exit.Ok;
    }
    const load = COMMANDS[command];
    if (!load) {
      throw new UsageError(`unknown command "${command}"`);
    }
    // `--help` before a lone `--` is the command's help (after it, it belongs to CMD of leash run).
    const own = rest.indexOf('--') >= 0 ? rest.slice(0, rest.indexOf('--')) : rest;
    if (own.includes('--help') || own.includes('-h')) {
      process.stdout.write(COMMAND_HELP[command] ?? MAIN_HELP);
      return Exit.Ok;
    }
    const run = await load();
    return await run(rest);
  } catch (err) {
    return report(err, command);
  }
}

function report(err: unknown, command: string | undefined): number {
  const write = (m: string): void => void process.stderr.write(`leash: ${m}\n`);
  if (
    err instanceof UsageError ||
    (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
  ) {
    write(`${err.message}\n(see: leash help${command && COMMAND_HELP[command] ? ` ${command}` : ''})`);
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
    write(`${headline}${extra.length > 1 ? `\n${extra.join('\n')}` : ''}`);
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
