import type { AgentCredential, CredentialAsk, HeldLease } from './agent-protocol';
import { DEFAULT_MIN_REMAINING_SECONDS } from './agent-protocol';

type Claimed = Omit<AgentCredential, 'reused'>;

/**
 * The agent's memory of issued credentials, one per (role, environment). Concurrent asks for the same
 * pair share one request (botocore and kubectl may call their helper several times at once).
 */
export class CredentialCache {
  private readonly held = new Map<string, Claimed>();
  private readonly inflight = new Map<string, Promise<Claimed>>();

  constructor(private readonly now: () => number = Date.now) {}

  async get(ask: CredentialAsk, obtain: () => Promise<Claimed>): Promise<AgentCredential> {
    const key = `${ask.role}\u0000${ask.environment}`;
    const minRemainingMs = (ask.minRemainingSeconds ?? DEFAULT_MIN_REMAINING_SECONDS) * 1000;
    const current = this.held.get(key);
    if (current && Date.parse(current.lease.expiresAt) - this.now() > minRemainingMs) {
      return { ...current, reused: true };
    }
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = obtain().finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const fresh = await pending;
    this.held.set(key, fresh);
    return { ...fresh, reused: false };
  }

  /** Holds a credential claimed outside `get` (an adopted request). */
  put(claimed: Claimed): void {
    this.held.set(`${claimed.lease.role}\u0000${claimed.lease.environment}`, claimed);
  }

  forget(leaseId: string): boolean {
    for (const [key, value] of this.held) {
      if (value.lease.id === leaseId) {
        this.held.delete(key);
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.held.clear();
  }

  /** What the agent holds, without secrets; expired entries are dropped. */
  list(): HeldLease[] {
    const out: HeldLease[] = [];
    for (const [key, value] of this.held) {
      if (Date.parse(value.lease.expiresAt) <= this.now()) {
        this.held.delete(key);
      } else {
        out.push({ lease: value.lease, role: value.lease.role, environment: value.lease.environment });
      }
    }
    return out;
  }
}
