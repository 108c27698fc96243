import type { LeaseView } from '@leash/contracts';

/**
 * The session agent's protocol: one JSON object per line over its Unix socket, one request and one
 * response per connection. Access control is the socket's file mode (0600, in a 0700 directory):
 * whoever can connect acts as the session. Responses never carry a secret except `credential` and
 * `identity`, which exist to hand the secret to the local tool that asked.
 */
export type AgentRequest =
  | { op: 'hello' }
  | ({ op: 'credential' } & CredentialAsk)
  | { op: 'identity' }
  | { op: 'set-identity'; token: string }
  | { op: 'forget'; leaseId: string }
  /** Claim an approved request of this session (e.g. made through `leash mcp`) into the agent's memory. */
  | { op: 'adopt'; requestId: string }
  /** Report a session event (workflow step, log line) to the broker as this session. */
  | { op: 'event'; step?: string; level: string; message: string }
  | { op: 'status' };

export interface CredentialAsk {
  role: string;
  environment: string;
  reason?: string;
  ttlSeconds?: number;
  /** Reuse a held credential only if it stays valid at least this long (default 300 s). */
  minRemainingSeconds?: number;
  /** Which helper asks (credential-process, gcp-token, kube-exec, ...), for the request's reason and audit. */
  tool?: string;
  /** false (`--no-wait`): a request that needs a human fails at once with its approval URL instead of waiting. */
  wait?: boolean;
}

export interface HeldLease {
  lease: LeaseView;
  role: string;
  environment: string;
}

export type AgentResponse<T = Record<string, unknown>> =
  ({ ok: true } & T) | { ok: false; exitCode: number; message: string };

export interface AgentCredential {
  lease: LeaseView;
  credential: Record<string, string>;
  /** True when the agent answered from memory without a new request. */
  reused: boolean;
}

export interface AgentStatus {
  sessionId: string;
  pid: number;
  broker: string;
  idleSeconds: number;
  lastHeartbeatAt?: string;
  leases: { id: string; role: string; environment: string; expiresAt: string }[];
}

export const MAX_MESSAGE_BYTES = 256 * 1024;
export const DEFAULT_MIN_REMAINING_SECONDS = 300;
