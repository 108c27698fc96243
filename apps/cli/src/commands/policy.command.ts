import { UsageError } from '../cli-errors';

/** `leash policy validate FILE` | `leash policy explain ...` */
export async function policyCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'validate':
      return (await import('./policy-validate.command.js')).policyValidateCommand(rest);
    case 'explain':
      return (await import('./policy-explain.command.js')).policyExplainCommand(rest);
    default:
      throw new UsageError(`leash policy needs validate or explain${sub ? ` (not "${sub}")` : ''}`);
  }
}
