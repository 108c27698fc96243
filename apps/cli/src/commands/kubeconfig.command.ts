import type { Command } from 'commander';
import { EXIT_CODES, action, duration } from '../cli-program';
import { Exit } from '../cli-errors';

/** Checks a duration but passes it on as written. */
function checkedDuration(value: string): string {
  duration(value);
  return value;
}

interface KubeconfigOptions {
  env: string;
  name?: string;
  command: string;
  reason?: string;
  ttl?: string;
  session?: string;
}

/**
 * `leash kubeconfig ROLE --env ENV [--name NAME] [--command leash] [--reason TEXT] [--ttl D] [--session ID]`:
 * prints a kubeconfig `users` entry whose credentials come from `leash kube-exec`.
 */
export function kubeconfigCommand(program: Command): void {
  program
    .command('kubeconfig')
    .summary('print a kubeconfig user entry that runs kube-exec')
    .description(
      'Prints a kubeconfig `users` entry whose exec plugin is `leash kube-exec ROLE --env ENV` (docs/kubernetes.md).',
    )
    .argument('<ROLE>', 'role id from the policy')
    .requiredOption('--env <ENV>', 'environment (required)')
    .option('--name <NAME>', "the user entry's name (default leash-ROLE-ENV)")
    .option('--command <PATH>', 'how kubectl starts leash (an absolute path when leash is not on PATH)', 'leash')
    .option('--reason <TEXT>', 'passed to kube-exec')
    .option('--ttl <DURATION>', 'passed to kube-exec', checkedDuration)
    .option('--session <ID>', 'passed to kube-exec')
    .addHelpText('after', `\n${EXIT_CODES}\n`)
    .action(
      action(async (role: string, values: KubeconfigOptions) => {
        const { stringify } = await import('yaml');
        const execArgs = ['kube-exec', role, '--env', values.env];
        for (const flag of ['reason', 'ttl', 'session'] as const) {
          const value = values[flag];
          if (value !== undefined) {
            execArgs.push(`--${flag}`, value);
          }
        }
        const entry = {
          users: [
            {
              name: values.name ?? `leash-${role}-${values.env}`,
              user: {
                exec: {
                  apiVersion: 'client.authentication.k8s.io/v1',
                  command: values.command,
                  args: execArgs,
                  // Approval happens out of band (web, Slack); the plugin needs no terminal.
                  interactiveMode: 'Never',
                  provideClusterInfo: false,
                  installHint:
                    'leash is the Leash CLI of your platform team (bin/leash.js of the Leash repository; see its docs/cli.md); set LEASH_URL to the broker',
                },
              },
            },
          ],
        };
        process.stdout.write(stringify(entry));
        return Exit.Ok;
      }),
    );
}
