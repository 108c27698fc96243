import { Command, CommanderError } from 'commander';
import { LEASH_VERSION } from './version';
import { EXIT_CODES, commandPath } from './cli-program';
import { requestCommand } from './commands/request.command';
import { claimCommand } from './commands/claim.command';
import { runCommand } from './commands/run.command';
import { credentialProcessCommand, gcpTokenCommand } from './commands/credential-helper.command';
import { kubeExecCommand } from './commands/kube-exec.command';
import { kubeconfigCommand } from './commands/kubeconfig.command';
import { revokeCommand } from './commands/revoke.command';
import { statusCommand } from './commands/status.command';
import { leasesCommand } from './commands/leases.command';
import { whoamiCommand } from './commands/whoami.command';
import { loginCommand } from './commands/login.command';
import { approveCommand, denyCommand } from './commands/decide.command';
import { policyCommand } from './commands/policy.command';
import { auditCommand } from './commands/audit.command';
import { mcpCommand } from './commands/mcp.command';
import { scanCommand } from './commands/scan.command';
import { eventCommand } from './commands/event.command';

export { CommanderError };

const ENVIRONMENT = `Environment:
  LEASH_URL         broker URL (default: "url" in the config file, else http://127.0.0.1:8080)
  LEASH_TOKEN       static identity token (CI); wins over every other identity source
  LEASH_SESSION     agent session id for requests (set by leash run)
  LEASH_AGENT_SOCK  session agent socket (set by leash run for CMD)
  LEASH_CONFIG      config file (default $XDG_CONFIG_HOME/leash/config.json or ~/.config/leash/config.json)`;

/** A command registers itself on the program (one file per command under commands/). */
export type CommandDefinition = (program: Command) => void;

/**
 * Groups of commands as `leash --help` lists them. Other command files add themselves to a group here:
 * the parser, `leash --help` and `leash help CMD` all come from these definitions.
 */
export const COMMAND_GROUPS: [string, CommandDefinition[]][] = [
  [
    'Credentials:',
    [
      requestCommand,
      claimCommand,
      runCommand,
      credentialProcessCommand,
      gcpTokenCommand,
      kubeExecCommand,
      kubeconfigCommand,
      revokeCommand,
    ],
  ],
  ['State:', [statusCommand, leasesCommand, whoamiCommand]],
  ['Identity:', [loginCommand]],
  ['Endpoints:', [scanCommand]],
  ['Approvers:', [approveCommand, denyCommand]],
  ['Platform teams and auditors:', [policyCommand, auditCommand]],
  ['Integrations:', [mcpCommand, eventCommand]],
];

/** The `leash` program: every command, its options and its help. Usage errors throw CommanderError. */
export function buildProgram(): Command {
  const program = new Command('leash')
    .description(`leash ${LEASH_VERSION} — just-in-time credentials for agent sessions`)
    .usage('COMMAND [ARGS]   (leash help COMMAND for details)')
    .version(LEASH_VERSION, '-v, --version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      // One line per usage error, in the CLI's own voice.
      outputError: (text, write) => write(`leash: ${text.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(see: leash --help)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false })
    .helpCommand('help [COMMAND]', 'help for a command')
    .addHelpText('after', `\n${ENVIRONMENT}\n\n${EXIT_CODES}\n`);
  for (const [group, definitions] of COMMAND_GROUPS) {
    program.commandsGroup(group);
    for (const define of definitions) {
      define(program);
    }
  }
  program.commandsGroup('Help:');
  forEachCommand(program, (command) => {
    const path = commandPath(command);
    if (path) {
      command.showHelpAfterError(`(see: leash help ${path})`);
    }
  });
  return program;
}

function forEachCommand(command: Command, visit: (c: Command) => void): void {
  visit(command);
  for (const sub of command.commands) {
    forEachCommand(sub, visit);
  }
}
