import { z } from 'zod';
import { parseDurationSeconds } from '@leash/core';
import type { RequestView } from '@leash/contracts';
import { cliConfig, client } from '../cli-context';
import { adoptViaAgent, agentCall } from '../agent/agent-client';

export type ToolResult = Record<string, unknown>;

/** One tool of `leash mcp`: its input and output are JSON objects (zod object schemas). */
export interface LeashTool<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  readOnly: boolean;
  run(args: z.infer<I>): Promise<z.infer<O>>;
}

const NEXT_ISSUED =
  'Access is issued to this agent session. Run your tool (aws, kubectl, gcloud) now; it obtains the credential ' +
  'through leash credential-process / kube-exec / gcp-token. Never ask for or print the secret.';
const NEXT_PENDING =
  'A human must approve out of band (approval URL). Do not ask the user to approve here; call access_status later.';

const name = z.string().min(1).max(128);

const RequestStateOutput = z.looseObject({
  requestId: z.string(),
  state: z.string(),
  decision: z.string().optional(),
  role: z.string(),
  environment: z.string(),
  risk: z.looseObject({ level: z.string() }),
  quorum: z.string(),
  approvalUrl: z.string(),
  leaseId: z.string().optional(),
  expiresAt: z.string().optional(),
  deniedBy: z.string().optional(),
  comment: z.string().optional(),
  next: z.string(),
});
type RequestState = z.infer<typeof RequestStateOutput>;

/** The request's state without any secret; an approved request is claimed into the session agent's memory. */
async function describe(view: RequestView): Promise<RequestState> {
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
    ...(expiresAt ? { expiresAt } : {}),
    ...(view.denial
      ? { deniedBy: view.denial.by, ...(view.denial.comment ? { comment: view.denial.comment } : {}) }
      : {}),
    next,
  };
}

// Typed per tool where it is written; stored as the common shape.
function defineTool<I extends z.ZodObject, O extends z.ZodObject>(tool: LeashTool<I, O>): LeashTool {
  return tool;
}

export const MCP_TOOLS: LeashTool[] = [
  defineTool({
    name: 'request_access',
    title: 'Request access',
    description:
      'Ask Leash for short-lived access to a role in an environment. Returns the request state and, when a human ' +
      'must approve, the approval URL. Never returns a secret.',
    input: z.strictObject({
      role: name.describe('role id from the Leash policy, e.g. demo-prod-write'),
      environment: name.describe('environment, e.g. staging or production'),
      reason: z.string().min(1).max(2000).describe('why access is needed; shown to approvers'),
      ttl: z.string().max(16).optional().describe('lifetime such as 15m or 1h (default: the environment default)'),
      plan: z.string().max(65536).optional().describe('the proposed change or plan text, shown to approvers'),
    }),
    output: RequestStateOutput,
    readOnly: false,
    run: async (args) => {
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
  }),
  defineTool({
    name: 'access_status',
    title: 'Access request status',
    description:
      'The state of an access request (pending, issued, denied, expired, cancelled), approval progress and lease id.',
    input: z.strictObject({ requestId: name.describe('the request id returned by request_access (req-...)') }),
    output: RequestStateOutput,
    readOnly: false,
    run: async (args) => describe(await client().getRequest(encodeURIComponent(args.requestId))),
  }),
  defineTool({
    name: 'list_leases',
    title: 'List leases',
    description:
      'Leases (issued credentials) of this agent session or the caller: id, role, environment, state, expiry. No secrets.',
    input: z.strictObject({
      session: name.optional().describe('session id (default: this agent session)'),
      state: z.enum(['active', 'revoking', 'revoked', 'revocation_failed']).optional(),
    }),
    output: z.strictObject({
      leases: z.array(
        z.strictObject({
          leaseId: z.string(),
          role: z.string(),
          environment: z.string(),
          state: z.string(),
          expiresAt: z.string(),
          session: z.string().optional(),
        }),
      ),
    }),
    readOnly: true,
    run: async (args) => {
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
  }),
  defineTool({
    name: 'revoke',
    title: 'Revoke access',
    description:
      'Revoke a lease now (leaseId), or every lease of a session (session). Give exactly one. Use it as soon as ' +
      'the work is done.',
    input: z.strictObject({
      leaseId: name.optional().describe('the lease to revoke (lease-...)'),
      session: name.optional().describe('revoke every lease of this agent session'),
    }),
    output: z.looseObject({ revoked: z.array(z.string()), state: z.string().optional() }),
    readOnly: false,
    run: async (args) => {
      if ((args.leaseId === undefined) === (args.session === undefined)) {
        throw new Error('give exactly one of leaseId or session');
      }
      const api = client();
      if (args.leaseId !== undefined) {
        const lease = (await api.revokeLease(encodeURIComponent(args.leaseId))) as { state?: string };
        const socket = cliConfig().agentSocket;
        if (socket) {
          await agentCall(socket, { op: 'forget', leaseId: args.leaseId }, 10_000).catch(() => undefined);
        }
        return { revoked: [args.leaseId], ...(lease.state ? { state: lease.state } : {}) };
      }
      const ended = (await api.revokeSession(args.session as string)) as { revokedLeases?: string[] };
      return { ...ended, revoked: ended.revokedLeases ?? [] };
    },
  }),
  defineTool({
    name: 'report_progress',
    title: 'Report progress',
    description:
      'Tell the humans watching this agent session what you are doing (a workflow step or a log line); shown ' +
      'live on the session dashboard and audited. Never include secrets.',
    input: z.strictObject({
      message: z.string().min(1).max(2000).describe('what you are doing or what happened'),
      level: z.enum(['info', 'warn', 'error']).default('info').describe('severity (default info)'),
      step: z
        .enum(['understand', 'plan', 'execute', 'request_approval', 'apply', 'validate'])
        .optional()
        .describe('the workflow step you are in (highlighted on the dashboard)'),
    }),
    output: z.looseObject({ session: z.string(), recorded: z.boolean() }),
    readOnly: false,
    run: async (args) => {
      const session = cliConfig().session;
      if (!session) {
        throw new Error(
          'report_progress needs an agent session: run the agent under `leash run` (or set LEASH_SESSION)',
        );
      }
      await client().sessionEvent(session, {
        message: args.message,
        level: args.level,
        ...(args.step ? { step: args.step } : {}),
      });
      return { session, recorded: true };
    },
  }),
];
