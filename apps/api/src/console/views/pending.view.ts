import type { PendingQueue } from '@leash/broker';
import type { RequestView } from '@leash/contracts';
import { html, type SafeHtml } from '../html';
import type { ConsoleSession } from '../console-session.store';
import { riskBadge, time } from './format';
import { layout } from './layout.view';
import { ttlText } from './ttl.view';

export interface PendingFilterValues {
  environment?: string;
  risk?: string;
  role?: string;
}

export interface PendingPage {
  session: ConsoleSession;
  queue: PendingQueue | undefined;
  refusal?: string;
  filter: PendingFilterValues;
  environments: string[];
  roles: string[];
}

export function pendingTitle(count: number): string {
  return `(${count}) Pending requests · Leash`;
}

const RISKS = ['critical', 'high', 'medium', 'low'] as const;

/** The filter as a query string (empty values left out), for the poll URL and the filter links. */
export function filterQuery(filter: PendingFilterValues): string {
  return new URLSearchParams(
    Object.entries(filter).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].length > 0),
  ).toString();
}

function queueLink(filter: PendingFilterValues): string {
  const query = filterQuery(filter);
  return query ? `/console?${query}` : '/console';
}

/** The rows of the queue, in the order the broker gives (risk, then oldest first), and what is not shown. */
export function pendingRows(queue: PendingQueue): SafeHtml {
  const { items, notShown } = queue;
  const more =
    notShown > 0
      ? html`<tr class="more">
          <td colspan="6" data-testid="pending-more">
            <strong>${String(notShown)} more not shown</strong> (${String(items.length)} of ${String(queue.total)}
            shown, highest risk and oldest first): filter by environment or risk to see them.
          </td>
        </tr>`
      : '';
  if (items.length === 0) {
    return html`<tr class="empty">
        <td colspan="6">Nothing waits for approval.</td>
      </tr>
      ${more}`;
  }
  return html`${rows(items)}${more}`;
}

function rows(items: RequestView[]): SafeHtml {
  return html`${items.map(
    (r) =>
      html`<tr data-testid="pending-row" data-request-id="${r.id}">
        <td>
          <a href="/console/requests/${r.id}">${r.role}</a>
          <div class="sub">${r.reason}</div>
        </td>
        <td>${r.environment}</td>
        <td>${riskBadge(r.risk.level)}</td>
        <td>${r.principal}${r.owner ? html`<div class="sub">for ${r.owner}</div>` : ''}</td>
        <td>${ttlText(r)}</td>
        <td>
          ${time(r.createdAt)}
          <div class="sub">${r.quorum.progress}</div>
        </td>
      </tr>`,
  )}`;
}

function options(values: string[], selected: string | undefined, label: string): SafeHtml {
  return html`<option value="">${label}</option>
    ${values.map((v) => html`<option value="${v}" ${v === selected ? html` selected` : ''}>${v}</option>`)}`;
}

export function pendingPage(page: PendingPage): SafeHtml {
  const { filter } = page;
  const count = page.queue?.total ?? 0;
  const query = filterQuery(filter);
  return layout(
    {
      title: pendingTitle(count),
      session: page.session,
      active: 'pending',
      bodyData: page.queue ? { poll: `/console/fragments/pending${query ? `?${query}` : ''}` } : {},
    },
    html`<section class="card">
      <h1>Pending requests <span class="count" data-testid="pending-count">${count}</span></h1>
      ${
        page.refusal
          ? html`<p class="explain" data-testid="queue-refused">${page.refusal}</p>`
          : html`<form method="get" action="/console" class="filters">
                <label
                  >Environment
                  <select name="environment">
                    ${options(page.environments, filter.environment, 'any')}
                  </select></label
                >
                <label
                  >Risk
                  <select name="risk">
                    ${options([...RISKS], filter.risk, 'any')}
                  </select></label
                >
                <label
                  >Role
                  <select name="role">
                    ${options(page.roles, filter.role, 'any')}
                  </select></label
                >
                <button type="submit">Filter</button>
              </form>
              <p class="quick" data-testid="risk-links">
                Risk:
                ${[undefined, ...RISKS].map((risk) => {
                  const href = queueLink({ ...filter, risk });
                  const label = risk ?? 'any';
                  return filter.risk === risk
                    ? html`<strong aria-current="true">${label}</strong> `
                    : html`<a href="${href}">${label}</a> `;
                })}
              </p>
              <div class="table-wrap">
                <table class="list">
                  <thead>
                    <tr>
                      <th>Role · reason</th>
                      <th>Env</th>
                      <th>Risk</th>
                      <th>Requester</th>
                      <th>TTL</th>
                      <th>Asked · quorum</th>
                    </tr>
                  </thead>
                  <tbody id="pending-rows">
                    ${pendingRows(page.queue ?? { items: [], total: 0, notShown: 0 })}
                  </tbody>
                </table>
              </div>
              <p class="hint">
                Highest risk first (critical, high, medium, low), then oldest first. This list refreshes by itself every
                few seconds.
              </p>`
      }
    </section>`,
  );
}
