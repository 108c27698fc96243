import { createHmac } from 'node:crypto';
import type { AuditEvent } from './audit-event';
import type { AuditSink } from './audit-sink.port';

export const WEBHOOK_SIGNATURE_HEADER = 'x-leash-signature';
export const WEBHOOK_TIMESTAMP_HEADER = 'x-leash-timestamp';

/** `v1=` + hex HMAC-SHA256(secret, `<timestamp>.<raw body>`): what a receiver recomputes and compares. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/**
 * Posts batches as `{"events": [...]}` to a SIEM endpoint, signed with HMAC. Any 2xx acknowledges
 * the batch; anything else (or no answer within the timeout) throws so the queue retries.
 */
export class WebhookSink implements AuditSink {
  readonly name = 'webhook';

  constructor(
    private readonly url: string,
    private readonly secret: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async deliver(events: AuditEvent[]): Promise<void> {
    const body = JSON.stringify({ events });
    const timestamp = String(Math.floor(Date.now() / 1000));
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [WEBHOOK_TIMESTAMP_HEADER]: timestamp,
          [WEBHOOK_SIGNATURE_HEADER]: webhookSignature(this.secret, timestamp, body),
          'x-leash-delivery': `${events[0]?.seq ?? 0}-${events[events.length - 1]?.seq ?? 0}`,
        },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new Error(`webhook unreachable: ${err instanceof Error ? err.message : String(err)}`);
    }
    await res.arrayBuffer().catch(() => undefined);
    if (res.status < 200 || res.status >= 300) {
      throw new Error(`webhook answered HTTP ${res.status}`);
    }
  }
}
