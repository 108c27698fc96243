import type { RequestView } from '@leash/contracts';
import { html, type SafeHtml } from '../html';
import type { ConsoleSession } from '../console-session.store';
import { duration, riskBadge, time } from './format';
import { layout } from './layout.view';

export interface PendingFilterValues {
  environment?: string;
  risk?: string;
  role?: string;
}

export interface PendingPage {
  session: ConsoleSession;
  items: RequestView[] | undefined;
  refusal?: string;
  filter: PendingFilterValues;
  environments: string[];
  roles: string[];
}

export function pendingTitle(count: number): string {
  return `(${count}) Pending requests · Leash`;
}

export function pendingRows(items: RequestView[]): SafeHtml {
  if (items.length === 0) {
    return html`<tr class="empty">
      <td colspan="6">Nothing waits for approval.</td>
    </tr>`;
  }
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
        <td>${duration(r.ttlSeconds)}</td>
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
  const count = page.items?.length ?? 0;
  const query = new URLSearchParams(
    Object.entries(filter).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].length > 0),
  ).toString();
  return layout(
    {
      title: pendingTitle(count),
      session: page.session,
      active: 'pending',
      bodyData: page.items ? { poll: `/console/fragments/pending${query ? `?${query}` : ''}` } : {},
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
                    ${options(['low', 'medium', 'high', 'critical'], filter.risk, 'any')}
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
                    ${pendingRows(page.items ?? [])}
                  </tbody>
                </table>
              </div>
              <p class="hint">This list refreshes by itself every few seconds.</p>`
      }
    </section>`,
  );
}
