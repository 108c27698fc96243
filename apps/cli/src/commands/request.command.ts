import { parseArgs } from 'node:util';
import { parseDurationSeconds } from '@leash/core';
import type { ClaimResponse } from '@leash/contracts';
import { client } from '../cli-context';
import { Exit, UsageError } from '../cli-errors';
import { obtainCredential } from '../obtain-credential';

function printCredential(claim: ClaimResponse, format: string): void {
  if (format === 'env') {
    const lines = Object.entries(claim.credential).map(
      ([k, v]) =>
        `export LEASH_CRED_${k.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}='${v.replace(/'/g, "'\\''")}'`,
    );
    lines.push(`export LEASH_LEASE_ID='${claim.lease.id}'`, `export LEASH_LEASE_EXPIRES_AT='${claim.lease.expiresAt}'`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } else {
    process.stdout.write(`${JSON.stringify(claim, null, 2)}\n`);
  }
}

/** `leash request ROLE --env ENV --reason TEXT [...]` */
export async function requestCommand(args: string[]): Promise<number> {
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
  const obtained = await obtainCredential(client(), {
    role,
    environment: values.env,
    reason: values.reason,
    ttlSeconds,
    sessionId,
    plan,
    wait: values.wait,
    timeoutSeconds: parseDurationSeconds(values.timeout) ?? 900,
  });
  if (obtained.kind === 'pending') {
    process.stdout.write(`${JSON.stringify(obtained.request, null, 2)}\n`);
    return Exit.Ok;
  }
  printCredential(obtained.claim, values.format);
  return Exit.Ok;
}
