import type { ClaimResponse, RequestView } from '@leash/contracts';
import type { BrokerClient } from './broker-client';
import { Exit, ExitError } from './cli-errors';

export interface CredentialAsk {
  role: string;
  environment: string;
  reason: string;
  ttlSeconds?: number;
  sessionId?: string;
  agent?: string;
  plan?: string;
  /** Wait for a human approval (long-poll); otherwise a pending request is returned as is. */
  wait: boolean;
  timeoutSeconds: number;
  /** Ctrl-C while waiting cancels the request and exits (default). The session agent turns it off. */
  cancelOnSigint?: boolean;
}

export type Obtained = { kind: 'credential'; claim: ClaimResponse } | { kind: 'pending'; request: RequestView };

/**
 * The one flow every credential command shares: create the request, wait for approval with
 * progress on stderr (never stdout), then claim. Ctrl-C while waiting cancels the request.
 */
export async function obtainCredential(
  api: BrokerClient,
  ask: CredentialAsk,
  progress: (m: string) => void = (m) => void process.stderr.write(`leash: ${m}\n`),
  spinner = process.stderr.isTTY === true,
): Promise<Obtained> {
  const created = await api.createRequest({
    role: ask.role,
    environment: ask.environment,
    reason: ask.reason,
    ...(ask.ttlSeconds !== undefined ? { ttlSeconds: ask.ttlSeconds } : {}),
    ...(ask.sessionId ? { session: { id: ask.sessionId, agent: ask.agent ?? 'leash-cli' } } : {}),
    ...(ask.plan ? { context: { plan: ask.plan } } : {}),
  });
  let state = created.state;
  if (state === 'pending') {
    progress(`${created.id} needs approval (${created.quorum.progress}); risk ${created.risk.level}`);
    progress(`approve at ${created.approvalUrl}`);
    if (!ask.wait) {
      return { kind: 'pending', request: created };
    }
    const deadline = Date.now() + ask.timeoutSeconds * 1000;
    const started = Date.now();
    const cancel = (): void => {
      process.stderr.write(`\nleash: cancelling ${created.id}\n`);
      void api.cancel(created.id).finally(() => process.exit(Exit.Expired));
    };
    if (ask.cancelOnSigint !== false) {
      process.once('SIGINT', cancel);
    }
    let quorum = created.quorum.progress;
    const elapsed = (): number => Math.round((Date.now() - started) / 1000);
    // On a terminal: a spinner line with elapsed time and quorum progress; elsewhere one line per poll.
    const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
    let frame = 0;
    const ticker = spinner
      ? setInterval(() => {
          frame = (frame + 1) % frames.length;
          process.stderr.write(`\r${frames[frame]} waiting for approval… ${elapsed()}s, ${quorum}\u001b[K`);
        }, 250)
      : undefined;
    try {
      while (state === 'pending' && Date.now() < deadline) {
        const view = await api.getRequest(created.id, Math.min(30, Math.ceil((deadline - Date.now()) / 1000)));
        state = view.state;
        quorum = view.quorum.progress;
        if (!ticker) {
          progress(`waiting for approval… ${elapsed()}s, ${quorum}`);
        }
      }
    } finally {
      if (ticker) {
        clearInterval(ticker);
        process.stderr.write(`\r\u001b[K`);
      }
      process.removeListener('SIGINT', cancel);
    }
    progress(`${created.id} is ${state} after ${elapsed()}s`);
    if (state === 'pending') {
      await api.cancel(created.id).catch(() => undefined);
      throw new ExitError(Exit.Expired, `timed out waiting for approval of ${created.id}; the request was cancelled`);
    }
  }
  if (state === 'denied') {
    const view = await api.getRequest(created.id);
    const by = view.denial?.by ?? 'an approver';
    throw new ExitError(
      Exit.Denied,
      `request ${created.id} was denied by ${by}${view.denial?.comment ? `: ${view.denial.comment}` : ''}`,
    );
  }
  if (state !== 'approved') {
    throw new ExitError(Exit.Expired, `request ${created.id} is ${state}`);
  }
  return { kind: 'credential', claim: await api.claim(created.id) };
}
