import type { Command } from 'commander';
import { action, duration, timeoutOption } from '../cli-program';
import type { RunOptions } from '../agent/session-agent';

/** `leash run [--session ID] [--idle 2m] [--login] [--timeout 15m] -- CMD [ARGS...]` */
export function runCommand(program: Command): void {
  program
    .command('run')
    .summary("session agent: serves credentials to CMD's tools, revokes them when CMD exits")
    .usage('[options] -- CMD [ARGS...]')
    .description(
      'The session agent (like ssh-agent). Registers the agent session with the broker (POST /v1/sessions), ' +
        'heartbeats while CMD runs, holds issued credentials in its memory only and serves them over a Unix socket ' +
        '(mode 0600 in a private 0700 directory under $XDG_RUNTIME_DIR or the temp dir). CMD gets LEASH_AGENT_SOCK, ' +
        'LEASH_SESSION and LEASH_URL (not LEASH_TOKEN). When CMD exits the agent ends the session and the broker ' +
        'revokes its leases; if the agent dies, the broker revokes them once the session is idle past --idle. ' +
        'By default CMD is isolated from standing credentials: their variables are dropped and AWS_CONFIG_FILE, ' +
        'AWS_SHARED_CREDENTIALS_FILE, KUBECONFIG, CLOUDSDK_CONFIG, GOOGLE_APPLICATION_CREDENTIALS and AZURE_CONFIG_DIR ' +
        'point at files in the private runtime directory: one AWS profile and one kube context per role you may ' +
        'request, named ROLE@ENV, each asking through this agent (docs/standing-access.md).',
    )
    .argument('<CMD...>', 'the command to run (after --) and its arguments')
    .option('--session <ID>', 'session id (default LEASH_SESSION, "session" in the config, else random)')
    .option(
      '--idle <DURATION>',
      'idle limit at the broker (default 2m, 2s..24h); heartbeats every third of it',
      duration,
    )
    .option('--login', 'sign in with the OIDC device flow first (automatic when only "oidc" is configured)')
    .addOption(timeoutOption('how long helpers wait for approvals'))
    .option(
      '--inherit-credentials',
      "give CMD this shell's standing credentials (AWS, GCP, Azure, Kubernetes, tokens): warned and recorded with the session",
    )
    .option(
      '--sandbox',
      'also run CMD in a mount namespace (bubblewrap) where ~/.aws, ~/.kube, ~/.config/gcloud, ~/.azure, ~/.docker, ~/.ssh are empty',
    )
    .option(
      '--hide <PATH>',
      'with --sandbox: another path CMD sees empty (repeatable; also "sandbox.hide" in the config)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    // Everything after CMD belongs to CMD, also without `--`.
    .passThroughOptions()
    .addHelpText('after', "\nExit code: CMD's exit code (128+N if killed by signal N).\n")
    .action(
      action(async (command: string[], options: RunOptions) =>
        (await import('../agent/session-agent.js')).runAgent(command, options),
      ),
    );
}
