import { BrokerProblem } from '../broker-client';
import { cliConfig, client } from '../cli-context';
import { Exit, ExitError, UsageError } from '../cli-errors';
import type { ScanResult } from './scanner';

/** Bound of the posture message (the broker bounds session events too). */
const MAX_MESSAGE = 1800;

/** The endpoint-posture message: counts, then each finding as kind, location and fingerprint (never a secret). */
export function postureMessage(result: ScanResult): string {
  const production = result.findings.filter((f) => f.production).length;
  const head = `endpoint posture: ${result.findings.length} standing credential(s), ${production} reaching production`;
  const lines = result.findings.map(
    (f) => `${f.production ? 'PRODUCTION ' : ''}${f.kind} ${f.location} ${f.fingerprint}`,
  );
  let message = head;
  for (const [i, line] of lines.entries()) {
    const more = `; … and ${lines.length - i} more`;
    if (message.length + line.length + 2 + more.length > MAX_MESSAGE) {
      return `${message}${more}`;
    }
    message += `${i === 0 ? ': ' : '; '}${line}`;
  }
  return message;
}

/** Sends the findings (fingerprints only) to the broker as an audited endpoint-posture session event. */
export async function reportPosture(result: ScanResult, session: string | undefined): Promise<void> {
  const sessionId = session ?? cliConfig().session;
  if (!sessionId) {
    throw new UsageError('--report needs an agent session: --session ID or LEASH_SESSION (leash run sets it)');
  }
  const production = result.findings.some((f) => f.production);
  try {
    await client().sessionEvent(sessionId, {
      level: production ? 'warn' : 'info',
      message: postureMessage(result),
    });
  } catch (err) {
    if (err instanceof BrokerProblem && err.status === 404 && !err.problem.type?.includes('not-found')) {
      throw new ExitError(
        Exit.Failure,
        'this broker has no session events (POST /v1/sessions/:id/events): nothing reported',
      );
    }
    throw err;
  }
  process.stderr.write(`leash scan: posture reported to session ${sessionId}\n`);
}
