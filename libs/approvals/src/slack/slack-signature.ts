import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApprovalError, ApprovalErrorCode } from '../approval.errors';

/** Slack refuses requests older than five minutes; so do we (either direction, for clock skew). */
export const SLACK_MAX_SKEW_SECONDS = 5 * 60;

export interface SlackSignedRequest {
  signature: string | undefined;
  timestamp: string | undefined;
  rawBody: Buffer | undefined;
}

/** `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the app's signing secret. */
export function slackSignature(signingSecret: string, timestamp: string, rawBody: Buffer | string): string {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(rawBody);
  return `v0=${hmac.digest('hex')}`;
}

/**
 * Verifies Slack's request signature over the raw body in constant time, and that the timestamp is
 * within five minutes of now. Throws ApprovalError(BadSignature) with a reason that names no secret.
 */
export function verifySlackSignature(signingSecret: string, req: SlackSignedRequest, nowMs: number): void {
  const refuse = (why: string): never => {
    throw new ApprovalError(ApprovalErrorCode.BadSignature, why);
  };
  if (!req.signature || !req.timestamp) {
    return refuse('missing X-Slack-Signature or X-Slack-Request-Timestamp');
  }
  if (!req.rawBody) {
    return refuse('no request body to verify');
  }
  if (!/^\d{1,12}$/.test(req.timestamp)) {
    return refuse('X-Slack-Request-Timestamp is not a Unix time in seconds');
  }
  if (Math.abs(nowMs / 1000 - Number(req.timestamp)) > SLACK_MAX_SKEW_SECONDS) {
    return refuse('X-Slack-Request-Timestamp is more than 5 minutes from now');
  }
  const expected = Buffer.from(slackSignature(signingSecret, req.timestamp, req.rawBody), 'utf8');
  const given = Buffer.from(req.signature, 'utf8');
  // timingSafeEqual needs equal lengths; a length mismatch is itself no secret.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return refuse('X-Slack-Signature does not match');
  }
}
