import { z } from 'zod';
import { parseDurationSeconds } from '@leash/core';
import type { RequestView } from '@leash/contracts';
import { cliConfig, client } from '../cli-context';
import { adoptViaAgent, agentCall } from '../agent/agent-client';

export type ToolResult = Record<string, unknown>;

export interface McpTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  parse(args: unknown): { ok: true; value: never } | { ok: false; message: string };
  run(args: never): Promise<ToolResult>;
}

function tool<S extends z.ZodType>(
  name: string,
  description: string,
  schema: S,
  run: (args: z.infer<S>) => Promise<ToolResult>,
): McpTool {
  return {
    name,
    description,
    inputSchema: z.toJSONSchema(schema, { io: 'input' }),
    parse: (args) => {
      const parsed = schema.safeParse(args);
      return parsed.success
        ? { ok: true, value: parsed.data as never }
        : { ok: false, message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
    },
    run: run,
  };
}

const NEXT_ISSUED =
  'Access is issued to this agent session. Run your tool (aws, kubectl, gcloud) now; it obtains the credential ' +
  'through leash credential-process / kube-exec / gcp-token. Never ask for or print the secret.';
const NEXT_PENDING =
  'A human must approve out of band (approval URL). Do not ask the user to approve here; call access_status later.';

/** The request's state without any secret; an approved request is claimed into the session agent's memory. */
async function describe(view: RequestView): Promise<ToolResult> {
  const socket = cliConfig().agentSocket;
  let state: string = view.state;
  let leaseId = view.leaseId;
  let expiresAt = view.expiresAt;
  let next = NEXT_PENDING;
  if (view.state === 'approved' && socket) {
    const lease = await adoptViaAgent(socket, view.id);
    state = 'issued';
    leaseId = lease.id;
    expiresAt = lease.expiresAt;
  }
  if (state === 'issued') {
    next = NEXT_ISSUED;
  } else if (state === 'approved') {
    next = 'Approved, but no leash session agent is running (start the agent under `leash run`).';
  } else if (state !== 'pending') {
    next = `The request is ${state}; it will not be issued.`;
  }
  return {
    requestId: view.id,
    state,
    decision: view.decision,
    role: view.role,
    environment: view.environment,
    risk: view.risk,
    quorum: view.quorum.progress,
    approvalUrl: view.approvalUrl,
    ...(leaseId ? { leaseId } : {}),
    expiresAt,
    ...(view.denial ? { deniedBy: view.denial.by, comment: view.denial.comment } : {}),
    next,
  };
}

const name = z.string().min(1).max(128);

export const MCP_TOOLS: McpTool[] = [
  tool(
    'request_access',
    'Ask Leash for short-lived access to a role in an environment. Returns the request state and, when a human ' +
      'must approve, the approval URL. Never returns a secret.',
    z.strictObject({
      role: name.describe('role id from the Leash policy, e.g. demo-prod-write'),
      environment: name.describe('environment, e.g. staging or production'),
      reason: z.string().min(1).max(2000).describe('why access is needed; shown to approvers'),
      ttl: z.string().max(16).optional().describe('lifetime such as 15m or 1h (default: the environment default)'),
      plan: z.string().max(65536).optional().describe('the proposed change or plan text, shown to approvers'),
    }),
    async (args) => {
      const ttlSeconds = args.ttl === undefined ? undefined : parseDurationSeconds(args.ttl);
      if (args.ttl !== undefined && !ttlSeconds) {
        throw new Error(`ttl "${args.ttl}" is not a duration (e.g. 15m)`);
      }
      const session = cliConfig().session;
      const view = await client().createRequest({
        role: args.role,
        environment: args.environment,
        reason: args.reason,
        ...(ttlSeconds ? { ttlSeconds } : {}),
        ...(session ? { session: { id: session, agent: 'leash-mcp' } } : {}),
        ...(args.plan ? { context: { plan: args.plan } } : {}),
      });
      return describe(view);
    },
  ),
  tool(
    'access_status',
    'The state of an access request (pending, issued, denied, expired, cancelled), approval progress and lease id.',
    z.strictObject({ requestId: name }),
    async (args) => describe(await client().getRequest(args.requestId)),
  ),
  tool(
    'list_leases',
    'Leases (issued credentials) of this agent session or the caller: id, role, environment, state, expiry. No secrets.',
    z.strictObject({
      session: name.optional().describe('session id (default: this agent session)'),
      state: z.enum(['active', 'revoking', 'revoked', 'revocation_failed']).optional(),
    }),
    async (args) => {
      const session = args.session ?? cliConfig().session;
      const { leases } = await client().listLeases({ session, state: args.state });
      return {
        leases: leases.map((l) => ({
          leaseId: l.id,
          role: l.role,
          environment: l.environment,
          state: l.state,
          expiresAt: l.expiresAt,
          ...(l.sessionId ? { session: l.sessionId } : {}),
        })),
      };
    },
  ),
  tool(
    'revoke',
    'Revoke a lease now, or every lease of a session. Use it as soon as the work is done.',
    z.union([z.strictObject({ leaseId: name }), z.strictObject({ session: name })]),
    async (args) => {
      const api = client();
      if ('leaseId' in args) {
        const lease = await api.revokeLease(args.leaseId);
        const socket = cliConfig().agentSocket;
        if (socket) {
          await agentCall(socket, { op: 'forget', leaseId: args.leaseId }, 10_000).catch(() => undefined);
        }
        return { revoked: args.leaseId, state: (lease as { state?: string }).state };
      }
      return { ...((await api.revokeSession(args.session)) as ToolResult) };
    },
  ),
];
