import { parseArgs } from 'node:util';
import { parseDurationSeconds } from '@leash/core';
import { cliConfig, client } from '../cli-context';
import { formatCredential, isOutputFormat, OUTPUT_FORMATS } from '../credential-formats';
import { Exit, UsageError } from '../cli-errors';
import { obtainCredential } from '../obtain-credential';

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
  const format = values.format;
  if (!isOutputFormat(format)) {
    throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}`);
  }
  const ttlSeconds = values.ttl === undefined ? undefined : parseDurationSeconds(values.ttl);
  if (values.ttl !== undefined && (ttlSeconds === undefined || ttlSeconds === 0)) {
    throw new UsageError(`--ttl "${values.ttl}" is not a duration (e.g. 90s, 10m, 1h)`);
  }
  const sessionId = values.session ?? cliConfig().session;
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
    agent: 'leash-cli',
    timeoutSeconds: parseDurationSeconds(values.timeout) ?? 900,
  });
  if (obtained.kind === 'pending') {
    process.stdout.write(`${JSON.stringify(obtained.request, null, 2)}\n`);
    return Exit.Ok;
  }
  process.stdout.write(formatCredential(obtained.claim, format));
  return Exit.Ok;
}
