import { connect } from 'node:net';
import type { LeaseView } from '@leash/contracts';
import { agentSocketFromEnv } from './agent-env';
import { Exit, ExitError } from '../cli-errors';
import {
  MAX_MESSAGE_BYTES,
  type AgentCredential,
  type AgentRequest,
  type AgentResponse,
  type AgentStatus,
  type CredentialAsk,
} from './agent-protocol';

/** Sends one request to the session agent and returns its answer; agent errors become ExitErrors. */
export function agentCall<T>(socketPath: string, request: AgentRequest, timeoutMs = 0): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const socket = connect(socketPath);
    let buffer = '';
    let settled = false;
    const finish = (err: Error | undefined, value?: T): void => {
      if (!settled) {
        settled = true;
        socket.destroy();
        if (err) {
          reject(err);
        } else {
          resolve(value as T);
        }
      }
    };
    if (timeoutMs > 0) {
      socket.setTimeout(timeoutMs, () =>
        finish(new ExitError(Exit.Expired, `the session agent did not answer within ${timeoutMs} ms`)),
      );
    }
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      if (buffer.length > MAX_MESSAGE_BYTES) {
        finish(new ExitError(Exit.Failure, 'the session agent sent an oversized answer'));
        return;
      }
      const end = buffer.indexOf('\n');
      if (end < 0) {
        return;
      }
      let answer: AgentResponse<T>;
      try {
        answer = JSON.parse(buffer.slice(0, end)) as AgentResponse<T>;
      } catch {
        finish(new ExitError(Exit.Failure, 'the session agent sent a malformed answer'));
        return;
      }
      if (answer.ok) {
        finish(undefined, answer);
      } else {
        finish(new ExitError(answer.exitCode, answer.message));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EACCES' || err.code === 'EPERM'
          ? 'permission denied (the socket belongs to another user)'
          : err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
            ? 'it is not running'
            : err.message;
      finish(new ExitError(Exit.Unreachable, `cannot reach the leash session agent at ${socketPath}: ${why}`));
    });
    socket.on('end', () => finish(new ExitError(Exit.Unreachable, 'the session agent closed the connection')));
  });
}

/**
 * Asks the session agent of this process (LEASH_AGENT_SOCK, set by `leash run`) for a credential of
 * (role, environment). The agent answers from memory while its lease stays valid for at least
 * `minRemainingSeconds`, otherwise it requests one (waiting for approval if needed) and claims it.
 * Returns undefined when no agent is configured; throws ExitError (with the CLI exit code) on failure.
 */
export async function getCredentialViaAgent(
  ask: CredentialAsk,
  socketPath: string | undefined = agentSocketFromEnv(),
): Promise<AgentCredential | undefined> {
  if (!socketPath) {
    return undefined;
  }
  const answer = await agentCall<AgentCredential>(socketPath, { op: 'credential', ...ask });
  return { lease: answer.lease, credential: answer.credential, reused: answer.reused };
}

/** The identity token held by the agent (from `leash login` or its own identity source), if any. */
export async function agentIdentity(socketPath: string): Promise<string | undefined> {
  const answer = await agentCall<{ token?: string }>(socketPath, { op: 'identity' }, 10_000);
  return answer.token;
}

export async function agentStatus(socketPath: string): Promise<AgentStatus> {
  const answer = await agentCall<AgentStatus & { ok: true }>(socketPath, { op: 'status' }, 10_000);
  const { ok: _ok, ...status } = answer;
  return status;
}

/** Has the agent claim an approved request into its memory; returns the lease (never the secret). */
export async function adoptViaAgent(socketPath: string, requestId: string): Promise<LeaseView> {
  const answer = await agentCall<{ lease: LeaseView }>(socketPath, { op: 'adopt', requestId });
  return answer.lease;
}

/** Reports a session event through the session agent (which posts it with the session's identity). */
export async function eventViaAgent(
  socketPath: string,
  event: { step?: string; level: string; message: string },
): Promise<{ sessionId?: string; id?: string }> {
  const answer = await agentCall<{ sessionId?: string; id?: string }>(socketPath, { op: 'event', ...event }, 30_000);
  return { ...(answer.sessionId ? { sessionId: answer.sessionId } : {}), ...(answer.id ? { id: answer.id } : {}) };
}
