import { parseArgs } from 'node:util';
import { parseDurationSeconds } from '@leash/core';
import { Exit, ExitError, UsageError } from '../cli-errors';
import { getCredentialViaAgent } from '../agent/agent-client';
import { agentSocketFromEnv } from '../agent/agent-env';
import { formatCredential, gcpExecutableError, type IssuedCredential, type OutputFormat } from '../credential-formats';

interface Helper {
  tool: 'credential-process' | 'gcp-token';
  format: OutputFormat;
}

/**
 * The credential for a tool's helper: from the session agent's memory when running under `leash run`
 * (reused until shortly before it expires), otherwise a new request (waiting for approval).
 */
async function obtainForTool(tool: string, args: string[]): Promise<IssuedCredential & { viaAgent: boolean }> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      env: { type: 'string' },
      reason: { type: 'string' },
      ttl: { type: 'string' },
      timeout: { type: 'string', default: '15m' },
      'min-remaining': { type: 'string', default: '5m' },
    },
  });
  const [role] = positionals;
  if (!role || !values.env || positionals.length > 1) {
    throw new UsageError(`leash ${tool} needs ROLE and --env ENV`);
  }
  const ttlSeconds = values.ttl === undefined ? undefined : parseDurationSeconds(values.ttl);
  if (values.ttl !== undefined && !ttlSeconds) {
    throw new UsageError(`--ttl "${values.ttl}" is not a duration (e.g. 15m, 1h)`);
  }
  const minRemainingSeconds = parseDurationSeconds(values['min-remaining']);
  if (minRemainingSeconds === undefined) {
    throw new UsageError(`--min-remaining "${values['min-remaining']}" is not a duration`);
  }
  const ask = {
    role,
    environment: values.env,
    ...(values.reason ? { reason: values.reason } : {}),
    ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
  };
  // Fast path first: no config file read, no broker call when the agent holds a valid credential.
  if (agentSocketFromEnv()) {
    const held = await getCredentialViaAgent({ ...ask, minRemainingSeconds, tool });
    if (held) {
      return { ...held, viaAgent: true };
    }
  }
  // Slow path only: the config file, its schema and the broker client.
  const { cliConfig, client } = await import('../cli-context.js');
  const { obtainCredential } = await import('../obtain-credential.js');
  const obtained = await obtainCredential(client(), {
    ...ask,
    reason: ask.reason ?? `leash ${tool}`,
    sessionId: cliConfig().session,
    agent: `leash ${tool}`,
    wait: true,
    timeoutSeconds: parseDurationSeconds(values.timeout) ?? 900,
  });
  if (obtained.kind !== 'credential') {
    throw new ExitError(Exit.Expired, `request ${obtained.request.id} is still pending`);
  }
  return { ...obtained.claim, viaAgent: false };
}

async function helperCommand(helper: Helper, args: string[]): Promise<number> {
  try {
    const issued = await obtainForTool(helper.tool, args);
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

/** `leash credential-process ROLE --env ENV`: AWS `credential_process` JSON (Version 1) on stdout. */
export function credentialProcessCommand(args: string[]): Promise<number> {
  return helperCommand({ tool: 'credential-process', format: 'aws-credential-process' }, args);
}

/** `leash gcp-token ROLE --env ENV`: Google executable-sourced credential JSON on stdout. */
export function gcpTokenCommand(args: string[]): Promise<number> {
  return helperCommand({ tool: 'gcp-token', format: 'gcp-executable' }, args);
}
