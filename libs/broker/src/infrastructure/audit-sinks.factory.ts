import type { AuditConfig } from '@leash/config';
import { JsonlFileSink, WebhookSink, type AuditSink } from '@leash/audit';

/** The audit export sinks this deployment enables (none unless configured). */
export function createAuditSinks(config: AuditConfig): AuditSink[] {
  const sinks: AuditSink[] = [];
  if (config.jsonl) {
    sinks.push(new JsonlFileSink(config.jsonl.dir, config.jsonl.maxBytes));
  }
  if (config.webhook) {
    sinks.push(new WebhookSink(config.webhook.url, config.webhook.secret));
  }
  return sinks;
}
