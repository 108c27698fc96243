import { parseArgs } from 'node:util';
import { cliConfig, client, identity } from '../cli-context';
import { Exit, UsageError } from '../cli-errors';
import { agentCall, agentStatus } from '../agent/agent-client';
import { jwtClaims } from '../identity';

const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/** `leash approve|deny REQUEST_ID [--comment TEXT]` */
export async function decideCommand(command: 'approve' | 'deny', args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { comment: { type: 'string' } } });
  const id = positionals[0];
  if (!id || positionals.length > 1) {
    throw new UsageError(`leash ${command} needs one REQUEST_ID`);
  }
  print(await client().decide(id, command, values.comment));
  return Exit.Ok;
}

/** `leash status [REQUEST_ID]`: a request's state, or the session agent's state (no secrets). */
export async function statusCommand(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const config = cliConfig();
  if (positionals[0]) {
    print(await client().getRequest(positionals[0]));
    return Exit.Ok;
  }
  if (!config.agentSocket) {
    throw new UsageError('leash status needs a REQUEST_ID outside a `leash run` session');
  }
  print(await agentStatus(config.agentSocket));
  return Exit.Ok;
}

/** `leash leases [--session ID] [--env ENV] [--role ROLE] [--state STATE] [--json]` */
export async function leasesCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      session: { type: 'string' },
      env: { type: 'string' },
      role: { type: 'string' },
      state: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const { leases } = await client().listLeases({
    session: values.session,
    environment: values.env,
    role: values.role,
    state: values.state,
  });
  if (values.json) {
    print(leases);
    return Exit.Ok;
  }
  const rows = leases.map((l) => [l.id, l.state, l.role, l.environment, l.sessionId ?? '-', l.expiresAt]);
  const head = ['LEASE', 'STATE', 'ROLE', 'ENV', 'SESSION', 'EXPIRES'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[head, ...rows].map(line).join('\n')}\n`);
  return Exit.Ok;
}

/** `leash revoke LEASE_ID | --session ID | --env ENV [--role ROLE] [--principal P] [--reason TEXT]` */
export async function revokeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      session: { type: 'string' },
      env: { type: 'string' },
      role: { type: 'string' },
      principal: { type: 'string' },
      reason: { type: 'string' },
    },
  });
  const api = client();
  const config = cliConfig();
  const breakGlass = values.env !== undefined || values.role !== undefined || values.principal !== undefined;
  if (breakGlass && positionals.length === 0 && !values.session) {
    const result = (await api.breakGlass({
      environment: values.env,
      role: values.role,
      principal: values.principal,
      reason: values.reason,
    })) as { warnings?: string[] };
    // A typo matches nothing: say so where a human looks, not only inside the JSON.
    for (const warning of result.warnings ?? []) {
      process.stderr.write(`leash: warning: ${warning}\n`);
    }
    print(result);
    return Exit.Ok;
  }
  if (values.session && positionals.length === 0 && !breakGlass) {
    print(await api.revokeSession(values.session));
    return Exit.Ok;
  }
  if (positionals.length !== 1 || values.session || breakGlass || values.reason !== undefined) {
    throw new UsageError(
      'leash revoke needs one LEASE_ID, or --session ID, or a break-glass selector (--env, --role, --principal)',
    );
  }
  const lease = await api.revokeLease(positionals[0]);
  if (config.agentSocket) {
    // The agent must not hand out what was just revoked.
    await agentCall(config.agentSocket, { op: 'forget', leaseId: positionals[0] }, 10_000).catch(() => undefined);
  }
  print(lease);
  return Exit.Ok;
}

/** `leash whoami`: the identity the broker sees (the token is checked by the broker, never printed). */
export async function whoamiCommand(args: string[]): Promise<number> {
  parseArgs({ args, options: {} });
  const config = cliConfig();
  const api = client(config);
  // A call every principal may make: the broker authenticates the token or answers 401 (exit 6).
  await api.listLeases({ limit: '1' });
  const claims = jwtClaims(await identity(config)()) ?? {};
  const pick = (k: string): unknown => claims[k];
  print({
    subject: pick('sub'),
    issuer: pick('iss'),
    ...(pick('owner') !== undefined ? { owner: pick('owner') } : {}),
    ...(pick('email') !== undefined ? { email: pick('email') } : {}),
    groups: Array.isArray(pick('groups')) ? pick('groups') : [],
    expiresAt: typeof pick('exp') === 'number' ? new Date((pick('exp') as number) * 1000).toISOString() : null,
    broker: config.url,
    ...(config.session ? { session: config.session } : {}),
  });
  return Exit.Ok;
}
