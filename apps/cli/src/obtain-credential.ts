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
  /** Where the approval prompt goes when stderr is not a terminal (helpers run by SDKs; see prompt.ts). */
  progress?: (m: string) => void;
}

export type Obtained = { kind: 'credential'; claim: ClaimResponse } | { kind: 'pending'; request: RequestView };

const stderrProgress = (m: string): void => void process.stderr.write(`leash: ${m}\n`);

export interface WaitOptions {
  timeoutSeconds: number;
  /** Cancel the request on timeout (it is ours); `leash claim` of an earlier request leaves it pending. */
  cancelOnTimeout: boolean;
  /** Ctrl-C cancels the request and exits. */
  cancelOnSigint: boolean;
  progress?: (m: string) => void;
  spinner?: boolean;
}

/**
 * Long-polls a pending request until a decision or the timeout, with progress on stderr (never stdout).
 * Returns the last state seen (`pending` after a timeout without `cancel`).
 */
export async function waitForDecision(api: BrokerClient, request: RequestView, options: WaitOptions): Promise<string> {
  const progress = options.progress ?? stderrProgress;
  const spinner = options.spinner ?? process.stderr.isTTY === true;
  let state: string = request.state;
  if (state !== 'pending') {
    return state;
  }
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  const started = Date.now();
  const cancel = (): void => {
    process.stderr.write(`\nleash: cancelling ${request.id}\n`);
    void api.cancel(request.id).finally(() => process.exit(Exit.Expired));
  };
  if (options.cancelOnSigint) {
    process.once('SIGINT', cancel);
  }
  let quorum = request.quorum.progress;
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
      const view = await api.getRequest(request.id, Math.min(30, Math.ceil((deadline - Date.now()) / 1000)));
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
  progress(`${request.id} is ${state} after ${elapsed()}s`);
  if (state === 'pending') {
    if (options.cancelOnTimeout) {
      await api.cancel(request.id).catch(() => undefined);
      throw new ExitError(Exit.Expired, `timed out waiting for approval of ${request.id}; the request was cancelled`);
    }
    throw new ExitError(Exit.Expired, `timed out waiting for approval of ${request.id}; it is still pending`);
  }
  return state;
}

/** Claims an approved request; a denied, expired or cancelled one is an ExitError (3 or 4). */
export async function claimDecided(api: BrokerClient, id: string, state: string): Promise<ClaimResponse> {
  if (state === 'denied') {
    const view = await api.getRequest(id);
    const by = view.denial?.by ?? 'an approver';
    throw new ExitError(
      Exit.Denied,
      `request ${id} was denied by ${by}${view.denial?.comment ? `: ${view.denial.comment}` : ''}`,
    );
  }
  if (state !== 'approved') {
    throw new ExitError(Exit.Expired, `request ${id} is ${state}`);
  }
  return api.claim(id);
}

/**
 * The one flow every credential command shares: create the request, wait for approval with
 * progress on stderr (never stdout), then claim. Ctrl-C while waiting cancels the request.
 */
export async function obtainCredential(
  api: BrokerClient,
  ask: CredentialAsk,
  progress: (m: string) => void = ask.progress ?? stderrProgress,
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
  let state: string = created.state;
  if (state === 'pending') {
    progress(`${created.id} needs approval (${created.quorum.progress}); risk ${created.risk.level}`);
    progress(`approve at ${created.approvalUrl}`);
    if (!ask.wait) {
      return { kind: 'pending', request: created };
    }
    progress('waiting for the approval (Ctrl-C cancels the request)');
    state = await waitForDecision(api, created, {
      timeoutSeconds: ask.timeoutSeconds,
      cancelOnTimeout: true,
      cancelOnSigint: ask.cancelOnSigint !== false,
      progress,
      spinner,
    });
  }
  const claim = await claimDecided(api, created.id, state);
  // A note only: failing to read the request again must not lose the credential.
  const said = await shortenedNote(created, claim, () => api.getRequest(created.id)).catch(() => undefined);
  if (said) {
    progress(said);
  }
  return { kind: 'credential', claim };
}

const SLACK_SECONDS = 5;

/**
 * When the credential lasts less than was asked, what was asked, what was granted and why (an approver
 * narrowed the TTL, or the provider's own limit is shorter); undefined otherwise. Reads the request
 * again only then.
 */
export async function shortenedNote(
  created: RequestView,
  claim: ClaimResponse,
  current: () => Promise<RequestView>,
): Promise<string | undefined> {
  const asked = created.ttlSeconds;
  const lasts = Math.round((Date.parse(claim.lease.expiresAt) - Date.parse(claim.lease.issuedAt)) / 1000);
  if (lasts >= asked - SLACK_SECONDS) {
    return undefined;
  }
  const view = await current();
  if (view.narrowed) {
    return `TTL narrowed: asked ${view.narrowed.fromTtlSeconds}s, granted ${view.ttlSeconds}s (by ${view.narrowed.by} when approving)`;
  }
  return `TTL shortened: asked ${asked}s, the credential lasts ${lasts}s (the ${claim.lease.provider} provider's own limit)`;
}

/** The error of a helper that may not wait (`--no-wait`) for a request that needs a human. */
export function pendingError(request: RequestView): ExitError {
  return new ExitError(
    Exit.Expired,
    `request ${request.id} needs approval (${request.quorum.progress}): approve at ${request.approvalUrl}, ` +
      `then run the command again or claim it with: leash claim ${request.id}`,
  );
}
