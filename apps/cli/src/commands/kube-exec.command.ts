import type { Command } from 'commander';
import { Exit, ExitError, UsageError } from '../cli-errors';
import { EXIT_CODES, action } from '../cli-program';
import type { CredentialAsk } from '../obtain-credential';
import { askOptions } from './request.command';
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
        wait: ask.wait,
      })
    : undefined;
  if (held) {
    credential = held.credential;
  } else {
    const { client } = await import('../cli-context.js');
    const { obtainCredential, pendingError } = await import('../obtain-credential.js');
    const { humanProgress } = await import('../prompt.js');
    const human = humanProgress();
    try {
      const obtained = await obtainCredential(client(), { ...ask, progress: human.progress });
      if (obtained.kind !== 'credential') {
        throw pendingError(obtained.request);
      }
      credential = obtained.claim.credential;
    } finally {
      human.close();
    }
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

interface KubeExecOptions {
  env: string;
  reason?: string;
  ttl?: number;
  session?: string;
  timeout: number;
  wait: boolean;
}

/** `leash kube-exec ROLE --env ENV [--reason TEXT] [--ttl 15m] [--session ID] [--timeout 15m]` (kubectl exec plugin) */
export function kubeExecCommand(program: Command): void {
  const command = program
    .command('kube-exec')
    .summary('kubectl exec credential plugin (ExecCredential on stdout)')
    .description(
      'kubectl exec credential plugin (docs/kubernetes.md). Reads KUBERNETES_EXEC_INFO and answers in the apiVersion ' +
        'kubectl asked for (client.authentication.k8s.io/v1 or v1beta1) with an ExecCredential {status: {token, ' +
        'expirationTimestamp}} on stdout; progress and the approval URL go to stderr (or to the terminal when ' +
        'stderr is not one). Nothing is written to disk.',
    )
    .argument('<ROLE>', 'role id from the policy');
  askOptions(command, 'optional')
    .option('--session <ID>', 'agent session (default LEASH_SESSION)')
    .option('--no-wait', 'fail at once (exit 4, with the approval URL) when a human must approve')
    .addHelpText('after', `\n${EXIT_CODES}\n`)
    .action(
      action(async (role: string, values: KubeExecOptions) => {
        const apiVersion = execApiVersion(process.env.KUBERNETES_EXEC_INFO);
        const { cliConfig } = await import('../cli-context.js');
        const credential = await acquireKubeToken({
          role,
          environment: values.env,
          reason: values.reason ?? `kubectl access to ${values.env} via leash kube-exec`,
          ttlSeconds: values.ttl,
          sessionId: values.session ?? cliConfig().session,
          agent: 'leash-kube-exec',
          wait: values.wait,
          timeoutSeconds: values.timeout,
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
      }),
    );
}
