import { parseArgs } from 'node:util';
import { parseDurationSeconds } from '@leash/core';
import type { ClaimResponse } from '@leash/contracts';
import { BrokerClient, BrokerProblem, BrokerUnreachable } from './broker-client';

/** Exit codes of the leash CLI (documented in the README). */
export const Exit = { Ok: 0, Failure: 1, Usage: 2, Denied: 3, Expired: 4, Unreachable: 5, Unauthenticated: 6 } as const;

class UsageError extends Error {}
class ExitError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const HELP = `leash — just-in-time credentials for agent sessions

Usage:
  leash request ROLE --env ENV --reason TEXT [--ttl 10m] [--session ID] [--plan FILE] [--wait] [--format json|env]
  leash status REQUEST_ID
  leash approve REQUEST_ID [--comment TEXT]
  leash deny REQUEST_ID [--comment TEXT]
  leash revoke LEASE_ID | --session ID

Environment:
  LEASH_URL     broker URL (default http://127.0.0.1:8080)
  LEASH_TOKEN   your identity token (Authorization: Bearer)
  LEASH_SESSION agent session id used when --session is not given

Exit codes:
  0 ok, 2 usage, 3 denied, 4 expired or timed out, 5 broker unreachable, 6 not authenticated
`;

function client(): BrokerClient {
  const token = process.env.LEASH_TOKEN;
  if (!token) {
    throw new ExitError(Exit.Unauthenticated, 'LEASH_TOKEN is not set: export an identity token first');
  }
  return new BrokerClient((process.env.LEASH_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''), token);
}

function printCredential(claim: ClaimResponse, format: string): void {
  if (format === 'env') {
    const lines = Object.entries(claim.credential).map(
      ([k, v]) => `export LEASH_CRED_${k.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}='${v.replace(/'/g, "'\\''")}'`,
    );
    lines.push(`export LEASH_LEASE_ID='${claim.lease.id}'`, `export LEASH_LEASE_EXPIRES_AT='${claim.lease.expiresAt}'`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } else {
    process.stdout.write(`${JSON.stringify(claim, null, 2)}\n`);
  }
}

async function request(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      env: { type: 'string' },
      reason: { type: 'string' },
      ttl: { type: 'string' },
      session: { type: 'string' },
      plan: { type: 'string' },
      wait: { type: 'boolean', default: false },
      format: { type: 'string', default: 'json' },
      timeout: { type: 'string', default: '15m' },
    },
  });
  const [role] = positionals;
  if (!role || !values.env || !values.reason) {
    throw new UsageError('leash request needs ROLE, --env and --reason');
  }
  if (values.format !== 'json' && values.format !== 'env') {
    throw new UsageError('--format must be json or env');
  }
  const ttlSeconds = values.ttl === undefined ? undefined : parseDurationSeconds(values.ttl);
  if (values.ttl !== undefined && (ttlSeconds === undefined || ttlSeconds === 0)) {
    throw new UsageError(`--ttl "${values.ttl}" is not a duration (e.g. 90s, 10m, 1h)`);
  }
  const sessionId = values.session ?? process.env.LEASH_SESSION;
  let plan: string | undefined;
  if (values.plan) {
    const { readFileSync } = await import('node:fs');
    plan = readFileSync(values.plan, 'utf8');
  }
  const api = client();
  const created = await api.createRequest({
    role,
    environment: values.env,
    reason: values.reason,
    ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
    ...(sessionId ? { session: { id: sessionId, agent: 'leash-cli' } } : {}),
    ...(plan ? { context: { plan } } : {}),
  });
  let state = created.state;
  if (state === 'pending') {
    process.stderr.write(`leash: ${created.id} needs approval (${created.quorum.progress}); risk ${created.risk.level}\n`);
    process.stderr.write(`leash: approve at ${created.approvalUrl}\n`);
    if (!values.wait) {
      process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
      return Exit.Ok;
    }
    const deadline = Date.now() + (parseDurationSeconds(values.timeout) ?? 900) * 1000;
    const started = Date.now();
    const cancel = (): void => {
      void api.cancel(created.id).finally(() => process.exit(Exit.Expired));
    };
    process.once('SIGINT', cancel);
    while (state === 'pending' && Date.now() < deadline) {
      const view = await api.getRequest(created.id, Math.min(30, Math.ceil((deadline - Date.now()) / 1000)));
      state = view.state;
      process.stderr.write(`leash: waiting for approval… ${Math.round((Date.now() - started) / 1000)}s, ${view.quorum.progress}\n`);
    }
    process.removeListener('SIGINT', cancel);
    if (state === 'pending') {
      await api.cancel(created.id).catch(() => undefined);
      throw new ExitError(Exit.Expired, `timed out waiting for approval of ${created.id}; the request was cancelled`);
    }
  }
  if (state === 'denied') {
    const view = await api.getRequest(created.id);
    throw new ExitError(Exit.Denied, `request ${created.id} was denied by ${view.denial?.by ?? 'an approver'}${view.denial?.comment ? `: ${view.denial.comment}` : ''}`);
  }
  if (state !== 'approved') {
    throw new ExitError(Exit.Expired, `request ${created.id} is ${state}`);
  }
  printCredential(await api.claim(created.id), values.format);
  return Exit.Ok;
}

async function simple(command: string, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { comment: { type: 'string' }, session: { type: 'string' } },
  });
  const api = client();
  const id = positionals[0];
  let result: unknown;
  if (command === 'revoke' && values.session) {
    result = await api.revokeSession(values.session);
  } else if (!id) {
    throw new UsageError(`leash ${command} needs an id`);
  } else if (command === 'status') {
    result = await api.getRequest(id);
  } else if (command === 'approve' || command === 'deny') {
    result = await api.decide(id, command, values.comment);
  } else {
    result = await api.revokeLease(id);
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return Exit.Ok;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(HELP);
        return command === undefined ? Exit.Usage : Exit.Ok;
      case 'request':
        return await request(rest);
      case 'status':
      case 'approve':
      case 'deny':
      case 'revoke':
        return await simple(command, rest);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    return report(err);
  }
}

function report(err: unknown): number {
  const write = (m: string): void => void process.stderr.write(`leash: ${m}\n`);
  if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
    write(`${err.message}\n\n${HELP}`);
    return Exit.Usage;
  }
  if (err instanceof ExitError) {
    write(err.message);
    return err.code;
  }
  if (err instanceof BrokerUnreachable) {
    write(err.message);
    return Exit.Unreachable;
  }
  if (err instanceof BrokerProblem) {
    const extra = [
      ...(err.problem.reasons ?? []).map((r) => `  - ${r}`),
      ...(err.problem.errors ?? []).map((e) => `  - ${e.field}: ${e.message}`),
    ];
    write(`${err.message}${extra.length ? `\n${extra.join('\n')}` : ''}`);
    if (err.status === 401) {
      return Exit.Unauthenticated;
    }
    if (err.status === 403) {
      return Exit.Denied;
    }
    if (err.status === 503) {
      return Exit.Unreachable;
    }
    return Exit.Failure;
  }
  write(err instanceof Error ? err.message : String(err));
  return Exit.Failure;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
