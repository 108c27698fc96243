import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseDurationSeconds } from '@leash/core';
import type { ExplainPolicyBody } from '@leash/contracts';
import { client } from '../cli-context';
import { Exit, ExitError, UsageError } from '../cli-errors';

/**
 * `leash policy explain --principal SUB --role ROLE --env ENV [--owner O] [--group G]... [--ttl 15m]
 * [--plan FILE]`: asks the broker what it would decide (POST /v1/policy/explain, admins only).
 */
export async function policyExplainCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      principal: { type: 'string' },
      owner: { type: 'string' },
      email: { type: 'string' },
      group: { type: 'string', multiple: true, default: [] },
      role: { type: 'string' },
      env: { type: 'string' },
      ttl: { type: 'string' },
      plan: { type: 'string' },
    },
  });
  if (!values.principal || !values.role || !values.env) {
    throw new UsageError('leash policy explain needs --principal, --role and --env');
  }
  const ttlSeconds = values.ttl === undefined ? undefined : parseDurationSeconds(values.ttl);
  if (values.ttl !== undefined && (ttlSeconds === undefined || ttlSeconds === 0)) {
    throw new UsageError(`--ttl "${values.ttl}" is not a duration (e.g. 90s, 10m, 1h)`);
  }
  let plan: string | undefined;
  if (values.plan) {
    try {
      plan = readFileSync(values.plan, 'utf8');
    } catch (err) {
      throw new ExitError(
        Exit.Failure,
        `cannot read ${values.plan}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      );
    }
  }
  const body: ExplainPolicyBody = {
    principal: {
      sub: values.principal,
      groups: values.group,
      ...(values.owner ? { owner: values.owner } : {}),
      ...(values.email ? { email: values.email } : {}),
    },
    role: values.role,
    environment: values.env,
    ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
    ...(plan !== undefined ? { context: { plan } } : {}),
  };
  const answer = await client().explainPolicy(body);
  process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
  return Exit.Ok;
}
