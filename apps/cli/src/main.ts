import { BrokerProblem, BrokerUnreachable } from './broker-client';
import { Exit, ExitError, UsageError } from './cli-errors';
import { requestCommand } from './commands/request.command';
import { simpleCommand } from './commands/simple.command';
import { policyExplainCommand } from './commands/policy-explain.command';
import { policyValidateCommand } from './commands/policy-validate.command';

export { Exit } from './cli-errors';

const HELP = `leash — just-in-time credentials for agent sessions

Usage:
  leash request ROLE --env ENV --reason TEXT [--ttl 10m] [--session ID] [--plan FILE] [--wait] [--format json|env]
  leash status REQUEST_ID
  leash approve REQUEST_ID [--comment TEXT]
  leash deny REQUEST_ID [--comment TEXT]
  leash revoke LEASE_ID | --session ID
  leash policy validate FILE
  leash policy explain --principal SUB --role ROLE --env ENV [--owner O] [--group G]... [--ttl 15m] [--plan FILE]

Environment:
  LEASH_URL     broker URL (default http://127.0.0.1:8080)
  LEASH_TOKEN   your identity token (Authorization: Bearer)
  LEASH_SESSION agent session id used when --session is not given

Exit codes:
  0 ok, 2 usage, 3 denied, 4 expired or timed out, 5 broker unreachable, 6 not authenticated
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(HELP);
        return command === undefined ? Exit.Usage : Exit.Ok;
      case 'request':
        return await requestCommand(rest);
      case 'status':
      case 'approve':
      case 'deny':
      case 'revoke':
        return await simpleCommand(command, rest);
      case 'policy':
        return await policyCommand(rest);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    return report(err);
  }
}

async function policyCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'validate':
      return policyValidateCommand(rest);
    case 'explain':
      return policyExplainCommand(rest);
    default:
      throw new UsageError(`leash policy needs validate or explain${sub ? ` (not "${sub}")` : ''}`);
  }
}

function report(err: unknown): number {
  const write = (m: string): void => void process.stderr.write(`leash: ${m}\n`);
  if (
    err instanceof UsageError ||
    (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
  ) {
    write(`${err.message}\n\n${HELP}`);
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
    const extra = [
      ...(err.problem.reasons ?? []).map((r) => `  - ${r}`),
      ...(err.problem.errors ?? []).map((e) => `  - ${e.field}: ${e.message}`),
    ];
    write(`${err.message}${extra.length ? `\n${extra.join('\n')}` : ''}`);
    if (err.status === 401) {
      return Exit.Unauthenticated;
    }
    if (err.status === 403) {
      return Exit.Denied;
    }
    if (err.status === 503) {
      return Exit.Unreachable;
    }
    return Exit.Failure;
  }
  write(err instanceof Error ? err.message : String(err));
  return Exit.Failure;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
