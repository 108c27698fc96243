import type { Command } from 'commander';
import { Exit, ExitError } from '../cli-errors';
import { EXIT_CODES, action, durationOption } from '../cli-program';
import { askOptions } from './request.command';
import { getCredentialViaAgent } from '../agent/agent-client';
import { agentSocketFromEnv } from '../agent/agent-env';
import { formatCredential, gcpExecutableError, type IssuedCredential, type OutputFormat } from '../credential-formats';

interface Helper {
  tool: 'credential-process' | 'gcp-token';
  format: OutputFormat;
}

interface HelperOptions {
  env: string;
  reason?: string;
  ttl?: number;
  timeout: number;
  minRemaining: number;
  wait: boolean;
}

/**
 * The credential for a tool's helper: from the session agent's memory when running under `leash run`
 * (reused until shortly before it expires), otherwise a new request (waiting for approval).
 */
async function obtainForTool(
  tool: string,
  role: string,
  values: HelperOptions,
): Promise<IssuedCredential & { viaAgent: boolean }> {
  const ttlSeconds = values.ttl;
  const minRemainingSeconds = values.minRemaining;
  const ask = {
    role,
    environment: values.env,
    ...(values.reason ? { reason: values.reason } : {}),
    ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
  };
  // Fast path first: no config file read, no broker call when the agent holds a valid credential.
  if (agentSocketFromEnv()) {
    const held = await getCredentialViaAgent({ ...ask, minRemainingSeconds, tool, wait: values.wait });
    if (held) {
      return { ...held, viaAgent: true };
    }
  }
  // Slow path only: the config file, its schema and the broker client.
  const { cliConfig, client } = await import('../cli-context.js');
  const { obtainCredential, pendingError } = await import('../obtain-credential.js');
  const { humanProgress } = await import('../prompt.js');
  const human = humanProgress();
  try {
    const obtained = await obtainCredential(client(), {
      ...ask,
      reason: ask.reason ?? `leash ${tool}`,
      sessionId: cliConfig().session,
      agent: `leash ${tool}`,
      wait: values.wait,
      timeoutSeconds: values.timeout,
      progress: human.progress,
    });
    if (obtained.kind !== 'credential') {
      throw pendingError(obtained.request);
    }
    return { ...obtained.claim, viaAgent: false };
  } finally {
    human.close();
  }
}

async function helperCommand(helper: Helper, role: string, options: HelperOptions): Promise<number> {
  try {
    const issued = await obtainForTool(helper.tool, role, options);
    let document: string;
    try {
      document = formatCredential(issued, helper.format);
    } catch (err) {
      // A credential the tool cannot use must not stay valid (the agent's copy ends with its session).
      if (!issued.viaAgent) {
        const { client } = await import('../cli-context.js');
        await client()
          .revokeLease(issued.lease.id)
          .catch(() => undefined);
      }
      throw err;
    }
    // Only the document goes to stdout: the SDK parses it.
    process.stdout.write(document);
    return Exit.Ok;
  } catch (err) {
    if (helper.format === 'gcp-executable' && err instanceof ExitError) {
      process.stdout.write(`${JSON.stringify(gcpExecutableError(err.code, err.message))}\n`);
    }
    throw err;
  }
}

function defineHelper(helper: Helper, summary: string, description: string): (program: Command) => void {
  return (program) => {
    const command = program
      .command(helper.tool)
      .summary(summary)
      .description(description)
      .argument('<ROLE>', 'role id from the policy');
    askOptions(command, 'optional')
      .addOption(
        durationOption(
          '--min-remaining <DURATION>',
          'reuse a held credential only while it has at least this long left',
          300,
          '5m',
        ),
      )
      .option('--no-wait', 'fail at once (exit 4, with the approval URL) when a human must approve')
      .addHelpText('after', `\n${EXIT_CODES}\n`)
      .action(action((role: string, options: HelperOptions) => helperCommand(helper, role, options)));
  };
}

/** `leash credential-process ROLE --env ENV`: AWS `credential_process` JSON (Version 1) on stdout. */
export const credentialProcessCommand = defineHelper(
  { tool: 'credential-process', format: 'aws-credential-process' },
  'AWS credential_process helper (JSON Version 1 on stdout)',
  "For the AWS SDKs' and CLI's credential_process (~/.aws/config):\n" +
    '  [profile prod]\n' +
    '  credential_process = leash credential-process prod-deploy --env production\n\n' +
    'Prints {"Version":1,"AccessKeyId","SecretAccessKey","SessionToken","Expiration"} and nothing else on stdout. ' +
    "Under leash run the agent answers from memory and reuses the session's lease while more than " +
    '--min-remaining (default 5m) remains; otherwise it asks (and waits) for approval. Outside an agent every ' +
    'call is a new request. While it waits, the approval prompt goes to stderr, or to the terminal (/dev/tty) ' +
    'when stderr is not one (the AWS CLI captures it).',
);

/** `leash gcp-token ROLE --env ENV`: Google executable-sourced credential JSON on stdout. */
export const gcpTokenCommand = defineHelper(
  { tool: 'gcp-token', format: 'gcp-executable' },
  'Google executable-sourced credential helper',
  'Google executable-sourced credentials: prints {"version":1,"success":true,"token_type": ' +
    '"urn:ietf:params:oauth:token-type:jwt","id_token":"<Leash-signed JWT>","expiration_time":<epoch s>} for a jwt ' +
    'role whose token Google STS accepts through workload identity federation; on failure ' +
    '{"version":1,"success":false,"code","message"} and a non-zero exit. Needs GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1. ' +
    'Reuse through the session agent as for credential-process.',
);
