import type {
  AuditCheckpointView,
  ClaimResponse,
  ExplainPolicyBody,
  ExplainPolicyResponse,
  LeaseView,
  RequestView,
  RequestableRolesResponse,
  SessionView,
} from '@leash/contracts';

export class BrokerUnreachable extends Error {}

export class BrokerProblem extends Error {
  constructor(
    readonly status: number,
    readonly problem: {
      type?: string;
      title?: string;
      detail?: string;
      reasons?: string[];
      errors?: { field: string; message: string }[];
    },
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

/** Why fetch failed, in words (undici says only "fetch failed" and keeps the cause). */
function reason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (err instanceof Error && err.name === 'TimeoutError') {
    return 'no answer in time';
  }
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

/** Minimal HTTP client of the Leash API. */
export class BrokerClient {
  private readonly token: () => Promise<string>;

  constructor(
    readonly baseUrl: string,
    token: string | (() => Promise<string>),
    private readonly unreachableHint = '',
  ) {
    this.token = typeof token === 'string' ? () => Promise.resolve(token) : token;
  }

  private async call<T>(method: string, path: string, body?: unknown, timeoutMs = 15_000): Promise<T> {
    const token = await this.token();
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new BrokerUnreachable(
        `cannot reach the Leash broker at ${this.baseUrl}: ${reason(err)}${this.unreachableHint}`,
      );
    }
    const text = await res.text();
    let parsed: unknown = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      throw new BrokerProblem(res.status, {
        detail: `the broker answered HTTP ${res.status} with a body that is not JSON`,
      });
    }
    if (!res.ok) {
      throw new BrokerProblem(res.status, parsed as BrokerProblem['problem']);
    }
    return parsed as T;
  }

  createRequest(body: Record<string, unknown>): Promise<RequestView> {
    return this.call('POST', '/v1/requests', body);
  }

  getRequest(id: string, waitSeconds = 0): Promise<RequestView> {
    return this.call(
      'GET',
      `/v1/requests/${id}${waitSeconds ? `?waitSeconds=${waitSeconds}` : ''}`,
      undefined,
      (waitSeconds + 15) * 1000,
    );
  }

  claim(id: string): Promise<ClaimResponse> {
    return this.call('POST', `/v1/requests/${id}/credentials`);
  }

  cancel(id: string): Promise<RequestView> {
    return this.call('DELETE', `/v1/requests/${id}`);
  }

  decide(id: string, decision: 'approve' | 'deny', comment?: string): Promise<RequestView> {
    return this.call('POST', `/v1/requests/${id}/${decision}`, comment ? { comment } : {});
  }

  explainPolicy(body: ExplainPolicyBody): Promise<ExplainPolicyResponse> {
    return this.call('POST', '/v1/policy/explain', body);
  }

  revokeLease(id: string): Promise<unknown> {
    return this.call('DELETE', `/v1/leases/${id}`);
  }

  revokeSession(id: string): Promise<unknown> {
    return this.call('DELETE', `/v1/sessions/${encodeURIComponent(id)}`);
  }

  /** Break glass (admins): `{environment?, role?, principal?, reason?}`. */
  breakGlass(body: Record<string, string | undefined>): Promise<unknown> {
    // Revoking many leases takes a while; the broker answers once every one was tried.
    return this.call('POST', '/v1/admin/revoke', body, 120_000);
  }

  listLeases(query: Record<string, string | undefined> = {}): Promise<{ leases: LeaseView[]; next?: string }> {
    const qs = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined));
    return this.call('GET', `/v1/leases${qs.size ? `?${qs.toString()}` : ''}`);
  }

  getLease(id: string): Promise<LeaseView> {
    return this.call('GET', `/v1/leases/${id}`);
  }

  registerSession(body: { id: string; idleSeconds?: number; agent?: string; host?: string }): Promise<SessionView> {
    return this.call('POST', '/v1/sessions', body);
  }

  /** The roles and environments this principal may request (GET /v1/roles). */
  roles(timeoutMs?: number): Promise<RequestableRolesResponse> {
    return this.call('GET', '/v1/roles', undefined, timeoutMs);
  }

  heartbeat(id: string): Promise<SessionView> {
    return this.call('POST', `/v1/sessions/${encodeURIComponent(id)}/heartbeat`);
  }

  /** `POST /v1/sessions/:id/events`: what the agent is doing, for its session dashboard. */
  sessionEvent(id: string, body: { step?: string; level: string; message: string }): Promise<unknown> {
    return this.call('POST', `/v1/sessions/${encodeURIComponent(id)}/events`, body);
  }

  auditPage(cursor: number, limit: number): Promise<{ events: unknown[]; nextCursor?: number }> {
    return this.call('GET', `/v1/audit?cursor=${cursor}&limit=${limit}`);
  }

  checkpoints(limit: number): Promise<{ checkpoints: AuditCheckpointView[] }> {
    return this.call('GET', `/v1/audit/checkpoints?limit=${limit}`);
  }

  jwks(): Promise<{ keys: Record<string, unknown>[] }> {
    return this.call('GET', '/.well-known/jwks.json');
  }
}
