import type { LeaseView } from '@leash/contracts';
import { html, type SafeHtml } from '../html';
import type { ConsoleSession } from '../console-session.store';
import { stateBadge, time } from './format';
import { layout } from './layout.view';

export interface LeasesPage {
  session: ConsoleSession;
  leases: LeaseView[];
  filter: { environment?: string; session?: string; role?: string };
  admin: boolean;
  /** The policy's environments, offered to admins for break glass. */
  environments: string[];
  flash?: string;
}

function breakGlassCard(page: LeasesPage): SafeHtml {
  return html`<section class="card break-glass" data-testid="break-glass">
    <h2>Break glass: revoke everything in an environment</h2>
    <p class="explain">
      Revokes every lease in the environment at once, for every role and principal, and cancels its pending and approved
      requests. AWS roles get a cut-off that also denies sessions issued before now. This cannot be undone.
    </p>
    <form method="post" action="/console/admin/revoke" class="stack">
      <input type="hidden" name="_csrf" value="${page.session.csrf}" />
      <label
        >Environment
        <select name="environment" required>
          <option value="">choose…</option>
          ${page.environments.map((e) => html`<option value="${e}">${e}</option>`)}
        </select></label
      >
      <label>Reason (audited) <input name="reason" maxlength="2000" required /></label>
      <label
        >Type the environment's name to confirm
        <input name="confirm" maxlength="128" autocomplete="off" required data-testid="break-glass-confirm"
      /></label>
      <button type="submit" class="danger" data-testid="break-glass-submit">
        Revoke everything in this environment
      </button>
    </form>
  </section>`;
}

export function leasesPage(page: LeasesPage): SafeHtml {
  const { session: s, filter } = page;
  const sessions = [...new Set(page.leases.flatMap((l) => (l.sessionId ? [l.sessionId] : [])))];
  return layout(
    { title: `(${page.leases.length}) Active leases · Leash`, session: s, active: 'leases' },
    html`<section class="card">
        <h1>Active leases <span class="count" data-testid="lease-count">${page.leases.length}</span></h1>
        ${page.flash ? html`<p class="flash" data-testid="flash" role="status">${page.flash}</p>` : ''}
        <form method="get" action="/console/leases" class="filters">
          <label>Environment <input name="environment" value="${filter.environment ?? ''}" maxlength="128" /></label>
          <label>Session <input name="session" value="${filter.session ?? ''}" maxlength="128" /></label>
          <label>Role <input name="role" value="${filter.role ?? ''}" maxlength="128" /></label>
          <button type="submit">Filter</button>
        </form>
        <div class="table-wrap">
          <table class="list">
            <thead>
              <tr>
                <th>Lease</th>
                <th>Role · env</th>
                <th>Session · principal</th>
                <th>Expires</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              ${
                page.leases.length === 0
                  ? html`<tr class="empty">
                      <td colspan="5">No active leases.</td>
                    </tr>`
                  : page.leases.map(
                      (l) =>
                        html`<tr data-testid="lease-row" data-lease-id="${l.id}">
                          <td>
                            <code>${l.fingerprint.split(' ')[0]} ${l.state.toUpperCase()}</code>
                            <div class="sub">${l.id}</div>
                          </td>
                          <td>
                            ${l.role}
                            <div class="sub">${l.environment}</div>
                          </td>
                          <td>
                            ${l.sessionId ?? '—'}
                            <div class="sub">${l.principal}</div>
                          </td>
                          <td>
                            ${time(l.expiresAt)}
                            <div class="sub countdown" data-expires="${l.expiresAt}"></div>
                          </td>
                          <td>
                            <form method="post" action="/console/leases/${l.id}/revoke">
                              <input type="hidden" name="_csrf" value="${s.csrf}" />
                              <button type="submit" class="danger" data-testid="revoke">Revoke</button>
                            </form>
                          </td>
                        </tr>`,
                    )
              }
            </tbody>
          </table>
        </div>
      </section>
      ${
        sessions.length > 0
          ? html`<section class="card">
              <h2>Revoke all leases of a session</h2>
              ${page.admin ? '' : html`<p class="explain">Only admins and the session's own requester may end a whole session.</p>`}
              <ul class="plain">
                ${sessions.map(
                  (id) =>
                    html`<li>
                      <form method="post" action="/console/sessions/${id}/revoke" class="inline">
                        <input type="hidden" name="_csrf" value="${s.csrf}" />
                        <code>${id}</code>
                        <button type="submit" class="danger" ${page.admin ? '' : html` disabled`}>
                          Revoke all of this session
                        </button>
                      </form>
                    </li>`,
                )}
              </ul>
            </section>`
          : ''
      }
      ${page.admin ? breakGlassCard(page) : ''}
      <p class="sub">States: ${stateBadge('active')} leases expire on their own; revoking ends them now.</p>`,
  );
}
