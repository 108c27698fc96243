import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { Exit, UsageError } from '../cli-errors';

/**
 * `leash kubeconfig ROLE --env ENV [--name NAME] [--command leash] [--reason TEXT] [--ttl D] [--session ID]`:
 * prints a kubeconfig `users` entry whose credentials come from `leash kube-exec`.
 */
export function kubeconfigCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      env: { type: 'string' },
      name: { type: 'string' },
      command: { type: 'string', default: 'leash' },
      reason: { type: 'string' },
      ttl: { type: 'string' },
      session: { type: 'string' },
    },
  });
  const [role] = positionals;
  if (!role || !values.env) {
    throw new UsageError('leash kubeconfig needs ROLE and --env');
  }
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
            installHint: 'leash is the Leash CLI (npm i -g leash); set LEASH_URL and LEASH_TOKEN',
          },
        },
      },
    ],
  };
  process.stdout.write(stringify(entry));
  return Exit.Ok;
}
