import { parseArgs } from 'node:util';
import { parseDurationSeconds } from '@leash/core';
import { cliConfig, client } from '../cli-context';
import { Exit, ExitError, UsageError } from '../cli-errors';
import { obtainCredential, type CredentialAsk } from '../obtain-credential';
import { getCredentialViaAgent } from '../agent/agent-client';
import { agentSocketFromEnv } from '../agent/agent-env';

export const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'] as const;
type ExecApiVersion = (typeof EXEC_API_VERSIONS)[number];

export interface KubeToken {
  token: string;
  expirationTimestamp: string;
}

/**
 * Gets a Kubernetes token for one ask: request → wait for approval (progress on stderr) → claim.
 * The one place kube-exec acquires credentials, so a session agent can serve it instead.
 */
export async function acquireKubeToken(ask: CredentialAsk): Promise<KubeToken> {
  let credential: Record<string, string>;
  // Under `leash run`, the session agent serves the session's approved lease from memory (no new
  // approval per kubectl process) until shortly before it expires.
  const held = agentSocketFromEnv()
    ? await getCredentialViaAgent({
        role: ask.role,
        environment: ask.environment,
        reason: ask.reason,
        ...(ask.ttlSeconds !== undefined ? { ttlSeconds: ask.ttlSeconds } : {}),
        minRemainingSeconds: 60,
        tool: 'kube-exec',
      })
    : undefined;
  if (held) {
    credential = held.credential;
  } else {
    const obtained = await obtainCredential(client(), ask);
    if (obtained.kind !== 'credential') {
      throw new ExitError(Exit.Expired, `request ${obtained.request.id} is still pending`);
    }
    credential = obtained.claim.credential;
  }
  const { token, expirationTimestamp } = credential;
  if (!token || !expirationTimestamp) {
    throw new ExitError(Exit.Failure, `role ${ask.role} did not issue a Kubernetes token (is it a kubernetes role?)`);
  }
  return { token, expirationTimestamp };
}

/** The apiVersion kubectl asked for in KUBERNETES_EXEC_INFO (v1 when it sent none). */
export function execApiVersion(execInfo: string | undefined): ExecApiVersion {
  if (!execInfo) {
    return 'client.authentication.k8s.io/v1';
  }
  let asked: unknown;
  try {
    asked = (JSON.parse(execInfo) as { apiVersion?: unknown }).apiVersion;
  } catch {
    throw new UsageError('KUBERNETES_EXEC_INFO is not valid JSON');
  }
  const known = EXEC_API_VERSIONS.find((v) => v === asked);
  if (!known) {
    throw new UsageError(
      `kubectl asked for ExecCredential ${String(asked)}; leash answers ${EXEC_API_VERSIONS.join(' or ')}`,
    );
  }
  return known;
}

/** `leash kube-exec ROLE --env ENV [--reason TEXT] [--ttl 15m] [--session ID] [--timeout 15m]` (kubectl exec plugin) */
export async function kubeExecCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      env: { type: 'string' },
      reason: { type: 'string' },
      ttl: { type: 'string' },
      session: { type: 'string' },
      timeout: { type: 'string', default: '15m' },
    },
  });
  const [role] = positionals;
  if (!role || !values.env) {
    throw new UsageError('leash kube-exec needs ROLE and --env');
  }
  const apiVersion = execApiVersion(process.env.KUBERNETES_EXEC_INFO);
  const ttlSeconds = values.ttl === undefined ? undefined : parseDurationSeconds(values.ttl);
  if (values.ttl !== undefined && !ttlSeconds) {
    throw new UsageError(`--ttl "${values.ttl}" is not a duration (e.g. 10m, 1h)`);
  }
  const timeoutSeconds = parseDurationSeconds(values.timeout);
  if (!timeoutSeconds) {
    throw new UsageError(`--timeout "${values.timeout}" is not a duration`);
  }
  const credential = await acquireKubeToken({
    role,
    environment: values.env,
    reason: values.reason ?? `kubectl access to ${values.env} via leash kube-exec`,
    ttlSeconds,
    sessionId: values.session ?? cliConfig().session,
    agent: 'leash-kube-exec',
    wait: true,
    timeoutSeconds,
  });
  // stdout carries only the ExecCredential; kubectl keeps it in memory.
  process.stdout.write(
    `${JSON.stringify({
      apiVersion,
      kind: 'ExecCredential',
      status: { token: credential.token, expirationTimestamp: credential.expirationTimestamp },
    })}\n`,
  );
  return Exit.Ok;
}
