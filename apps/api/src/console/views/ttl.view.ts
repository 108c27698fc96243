import type { LeaseView, RequestView } from '@leash/contracts';
import { html, type SafeHtml } from '../html';
import { duration } from './format';

/** Seconds by which a lease may end before its TTL without being "shortened" (issuance takes time). */
const SLACK_SECONDS = 5;

/**
 * The TTL as the approver should read it: when it was narrowed, what was asked, what is granted and
 * why (an approver narrowed it; the provider issued a shorter credential than the lease's TTL).
 */
export function ttlText(view: RequestView, lease?: LeaseView): SafeHtml {
  const granted = duration(view.ttlSeconds);
  const narrowed = view.narrowed
    ? html`<div class="sub narrowed" data-testid="ttl-narrowed">
        narrowed: asked ${duration(view.narrowed.fromTtlSeconds)}, granted ${granted}, by ${view.narrowed.by} when
        approving
      </div>`
    : '';
  const lasts = lease ? Math.round((Date.parse(lease.expiresAt) - Date.parse(lease.issuedAt)) / 1000) : undefined;
  const capped =
    lasts !== undefined && lasts < view.ttlSeconds - SLACK_SECONDS
      ? html`<div class="sub narrowed" data-testid="ttl-capped">
          the credential lasts ${duration(lasts)}: the ${lease?.provider ?? ''} provider's own limit is shorter than the
          TTL
        </div>`
      : '';
  return html`<span data-testid="ttl">${granted}</span>${narrowed}${capped}`;
}
