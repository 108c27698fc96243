import type { Command } from 'commander';
import { EXIT_CODES, action, duration, readOptionFile } from '../cli-program';
import { Exit } from '../cli-errors';

interface ExplainOptions {
  principal: string;
  owner?: string;
  email?: string;
  group: string[];
  role: string;
  env: string;
  ttl?: number;
  plan?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `leash policy validate FILE` | `leash policy explain ...` */
export function policyCommand(program: Command): void {
  const policy = program
    .command('policy')
    .summary('validate a policy file; explain what the broker decides, and why')
    .addHelpText('after', `\n${EXIT_CODES}\n`);
  policy
    .command('validate')
    .description(
      "Parses and checks a policy file locally with the broker's own parser (exit 1 with the line and reason " +
        'of each problem, or when the file cannot be read). Provider settings are checked by the broker on load.',
    )
    .argument('<FILE>', 'the policy YAML file')
    .addHelpText('after', `\n${EXIT_CODES}\n`)
    .action(action(async (file: string) => (await import('./policy-validate.js')).validatePolicyFile(file)));
  policy
    .command('explain')
    .description('Asks the broker (POST /v1/policy/explain, admins) what it would decide for a hypothetical request.')
    .requiredOption('--principal <SUB>', "the principal's subject (required)")
    .requiredOption('--role <ROLE>', 'role id (required)')
    .requiredOption('--env <ENV>', 'environment (required)')
    .option('--owner <O>', 'the human the agent acts for')
    .option('--email <EMAIL>', "the principal's email")
    .option('--group <G>', 'a group of the principal (repeatable)', collect, [])
    .option('--ttl <DURATION>', 'requested lifetime, e.g. 15m', duration)
    .option('--plan <FILE>', 'the proposed change (e.g. terraform plan output), for the risk assessment')
    .addHelpText('after', `\n${EXIT_CODES}\n`)
    .action(
      action(async (values: ExplainOptions) => {
        const plan = values.plan === undefined ? undefined : readOptionFile('--plan', values.plan);
        const { client } = await import('../cli-context.js');
        const answer = await client().explainPolicy({
          principal: {
            sub: values.principal,
            groups: values.group,
            ...(values.owner ? { owner: values.owner } : {}),
            ...(values.email ? { email: values.email } : {}),
          },
          role: values.role,
          environment: values.env,
          ...(values.ttl !== undefined ? { ttlSeconds: values.ttl } : {}),
          ...(plan !== undefined ? { context: { plan } } : {}),
        });
        process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
        return Exit.Ok;
      }),
    );
}
