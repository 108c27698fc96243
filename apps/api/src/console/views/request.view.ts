import type { RequestDetail } from '@leash/broker';
import { html, type SafeHtml } from '../html';
import type { ConsoleSession } from '../console-session.store';
import { duration, riskBadge, stateBadge, time } from './format';
import { layout } from './layout.view';
import { ttlText } from './ttl.view';

const LONG_PLAN_LINES = 30;
const LONG_PLAN_CHARS = 3000;

export interface RequestPage {
  session: ConsoleSession;
  detail: RequestDetail;
  /** Whether the approve use case accepts a shorter TTL (narrowing). */
  narrowingSupported: boolean;
  flash?: string;
}

function row(label: string, value: SafeHtml | string | undefined): SafeHtml {
  return html`<div class="kv">
    <dt>${label}</dt>
    <dd>${value ?? html`<span class="muted">—</span>`}</dd>
  </div>`;
}

function identity(page: RequestPage): SafeHtml {
  const { view } = page.detail;
  const s = page.session;
  const you = html`${s.principal.id}
  ${s.login.mfa ? html`<span class="badge ok">MFA verified</span>` : html`<span class="badge warn">no MFA</span>`}
  ${page.detail.viewerGroups.length > 0 ? html`<span class="sub">groups: ${page.detail.viewerGroups.join(', ')}</span>` : ''}`;
  return html`<section class="card" aria-labelledby="h-identity">
    <h2 id="h-identity">Identity &amp; access</h2>
    <dl>
      ${row('Requester', html`<span data-testid="requester">${view.principal}</span>`)}
      ${row('Owner (launched the agent)', view.owner)}
      ${row(
        'Agent session',
        view.session
          ? html`<a data-testid="session-link" href="/console/sessions/${encodeURIComponent(view.session.id)}"
                >${view.session.id}</a
              >${view.session.agent ? html` · ${view.session.agent}` : ''}
              <span class="sub">(dashboard: what the agent is doing)</span>`
          : undefined,
      )}
      ${row('Host', view.session?.host)} ${row('You', you)}
    </dl>
  </section>`;
}

function asked(detail: RequestDetail): SafeHtml {
  const { view } = detail;
  const scope =
    detail.scope === undefined
      ? undefined
      : typeof detail.scope === 'string'
        ? detail.scope
        : JSON.stringify(detail.scope);
  return html`<section class="card" aria-labelledby="h-asked">
    <h2 id="h-asked">What is asked</h2>
    <dl>
      ${row('Role', html`<strong>${view.role}</strong>`)} ${row('Environment', view.environment)}
      ${row('Provider', detail.provider)}
      ${row('What the credential will allow (role scope, from the policy)', html`<code data-testid="scope">${scope ?? '—'}</code>`)}
      ${row('What the agent says it will do', html`<span data-testid="reason">${view.reason}</span>`)}
      ${row('TTL', ttlText(view, detail.lease))} ${row('Ticket', view.context.ticket)}
      ${row('Command', view.context.command ? html`<code>${view.context.command}</code>` : undefined)}
    </dl>
  </section>`;
}

export function plan(detail: RequestDetail): SafeHtml {
  const text = detail.view.context.plan;
  if (!text) {
    return html`<section class="card" aria-labelledby="h-plan">
      <h2 id="h-plan">Proposed changes</h2>
      <p class="muted">The agent sent no plan.</p>
    </section>`;
  }
  const all = text.split('\n');
  const lines = all.length;
  const long = lines > LONG_PLAN_LINES || text.length > LONG_PLAN_CHARS;
  const block = html`<pre class="plan" data-testid="plan">${text}</pre>`;
  // The lines the risk assessment points at, with their numbers: visible even when the plan is folded.
  const findingLines = [
    ...new Set(
      (detail.view.risk.findings ?? [])
        .filter((f) => f.field === 'plan' && f.line !== undefined)
        .map((f) => f.line as number),
    ),
  ]
    .sort((a, b) => a - b)
    .slice(0, 40);
  const highlighted =
    findingLines.length === 0
      ? ''
      : html`<p class="sub">Lines the risk assessment points at:</p>
          <ol class="findings" data-testid="finding-lines">
            ${findingLines.map(
              (n) => html`<li data-line="${String(n)}"><span class="ln">${String(n)}</span>${all[n - 1] ?? ''}</li>`,
            )}
          </ol>`;
  return html`<section class="card" aria-labelledby="h-plan">
    <h2 id="h-plan">Proposed changes</h2>
    <p class="sub">As sent by the agent (${lines} lines), shown as plain text.</p>
    ${highlighted}
    ${
      long
        ? html`<details>
            <summary>Show the whole plan (${lines} lines)</summary>
            ${block}
          </details>`
        : block
    }
  </section>`;
}

export function risk(detail: RequestDetail): SafeHtml {
  const { level, reasons } = detail.view.risk;
  return html`<section class="card risk-card risk-border-${level}" aria-labelledby="h-risk">
    <h2 id="h-risk">Risk assessment ${riskBadge(level)}</h2>
    <ul class="reasons">
      ${reasons.map((r) => html`<li class="reason reason-${level}">${r}</li>`)}
    </ul>
  </section>`;
}

const STEPS = ['requested', 'awaiting approval', 'approved', 'issued', 'revoked / expired'] as const;

function workflow(detail: RequestDetail): SafeHtml {
  const state = detail.view.state;
  const leaseEnded = detail.lease && detail.lease.state !== 'active';
  let at: number;
  let note = '';
  switch (state) {
    case 'pending':
      at = 1;
      break;
    case 'approved':
    case 'issuing':
      at = 2;
      break;
    case 'issued':
      at = leaseEnded ? 4 : 3;
      break;
    case 'denied':
    case 'cancelled':
    case 'expired':
      at = state === 'expired' ? 4 : 1;
      note = `ended: ${state}`;
      break;
  }
  return html`<section class="card" aria-labelledby="h-flow">
    <h2 id="h-flow">Agent workflow</h2>
    <ol class="steps" data-testid="workflow">
      ${STEPS.map(
        (label, i) =>
          html`<li
            class="${i < at ? 'done' : i === at ? 'current' : 'todo'}"
            ${i === at ? html` aria-current="step"` : ''}
          >
            ${label}
          </li>`,
      )}
    </ol>
    <p>
      State: ${stateBadge(state)} ${note ? html`<span class="sub">${note}</span>` : ''}
      ${detail.view.denial ? html`<span class="sub">denied by ${detail.view.denial.by}${detail.view.denial.comment ? html`: “${detail.view.denial.comment}”` : ''}</span>` : ''}
    </p>
    <p class="sub">Deadline of this state: ${time(detail.view.expiresAt)}</p>
  </section>`;
}

function sessionContext(detail: RequestDetail): SafeHtml {
  const { sessionRequests, sessionLeases } = detail;
  return html`<section class="card" aria-labelledby="h-session">
    <h2 id="h-session">Session context</h2>
    <h3>Other requests of this session</h3>
    ${
      sessionRequests.length === 0
        ? html`<p class="muted">None.</p>`
        : html`<ul class="plain">
            ${sessionRequests.map(
              (r) =>
                html`<li>
                  <a href="/console/requests/${r.id}">${r.role}@${r.environment}</a> ${stateBadge(r.state)}
                  ${riskBadge(r.risk.level)}
                </li>`,
            )}
          </ul>`
    }
    <h3>Leases of this session</h3>
    ${
      sessionLeases.length === 0
        ? html`<p class="muted">None.</p>`
        : html`<ul class="plain">
            ${sessionLeases.map(
              (l) =>
                html`<li>
                  <code>${l.fingerprint.split(' ')[0]} ${l.state.toUpperCase()}</code> ${l.role}@${l.environment}
                  <span class="sub">until ${time(l.expiresAt)}</span>
                </li>`,
            )}
          </ul>`
    }
  </section>`;
}

function auditTrail(detail: RequestDetail): SafeHtml {
  return html`<section class="card" aria-labelledby="h-audit">
    <h2 id="h-audit">Audit trail</h2>
    ${
      detail.audit.length === 0
        ? html`<p class="muted">No events yet.</p>`
        : html`<ol class="audit" data-testid="audit">
            ${detail.audit.map(
              (e) =>
                html`<li>
                  ${time(e.time)} <strong>${e.action}</strong> by ${e.actor.id}
                  <span class="sub">via ${e.actor.channel}</span>
                </li>`,
            )}
          </ol>`
    }
  </section>`;
}

/**
 * The way to an MFA sign-in: the IdP's login asking for MFA, or, for a development sign-in (the demo, where no IdP
 * may be configured), the development sign-in again, whose MFA box is what counts there.
 */
function mfaLogin(page: RequestPage): SafeHtml {
  const returnTo = encodeURIComponent(`/console/requests/${page.detail.view.id}`);
  if (page.session.dev) {
    return html`<p>
      <a class="button" data-testid="mfa-login" href="/console/login?returnTo=${returnTo}">Sign in again with MFA</a>
      <span class="sub">development sign-in: tick <em>Count this session as MFA</em></span>
    </p>`;
  }
  return html`<p>
    <a class="button" data-testid="mfa-login" href="/console/login/oidc?mfa=1&amp;returnTo=${returnTo}"
      >Log in again with MFA</a
    >
  </p>`;
}

export function decision(page: RequestPage): SafeHtml {
  const { detail, session } = page;
  const { view } = detail;
  const d = detail.decision;
  const disabled = d.allowed ? '' : html` disabled`;
  const mfaNote = detail.mfa.required
    ? html`<p class="sub">This role requires an MFA sign-in within ${duration(detail.mfa.maxAgeSeconds)}.</p>`
    : '';
  const explain = d.allowed
    ? ''
    : html`<p class="explain" data-testid="decision-disabled" role="note">${d.reason}</p>
        ${d.needsMfaLogin ? mfaLogin(page) : ''}`;
  const narrowing = page.narrowingSupported
    ? html`<label
        >Shorter TTL (seconds, optional)
        <input type="number" name="ttlSeconds" min="1" max="${view.ttlSeconds}" ${disabled}
      /></label>`
    : html`<label
          >Shorter TTL <input type="number" name="ttlSeconds" disabled placeholder="${view.ttlSeconds}"
        /></label>
        <p class="sub" data-testid="narrowing-note">
          Narrowing the TTL is not available yet: this broker approves exactly the TTL that was asked
          (${duration(view.ttlSeconds)}).
        </p>`;
  const confirm =
    view.risk.level === 'high' || view.risk.level === 'critical'
      ? html`<label class="confirm-env"
          ><span
            >This request is <strong>${view.risk.level}</strong> risk: type the environment's name
            (<code>${view.environment}</code>) to approve</span
          >
          <input
            type="text"
            name="confirmEnvironment"
            autocomplete="off"
            required
            data-testid="confirm-environment"
            ${disabled}
        /></label>`
      : '';
  return html`<section class="card decision" aria-labelledby="h-decision" id="decision">
    <h2 id="h-decision">Decision</h2>
    ${page.flash ? html`<p class="flash" data-testid="flash" role="status">${page.flash}</p>` : ''}
    <p>
      Quorum:
      <strong data-testid="quorum">${view.quorum.progress}</strong
      >${view.quorum.satisfied ? html` <span class="badge ok">satisfied</span>` : ''}
    </p>
    ${
      view.approvals.length > 0
        ? html`<ul class="plain">
            ${view.approvals.map((a) => html`<li>approved by ${a.approver} <span class="sub">via ${a.channel}, ${time(a.at)}</span></li>`)}
          </ul>`
        : ''
    }
    ${mfaNote} ${explain}
    <div class="decide">
      <form method="post" action="/console/requests/${view.id}/approve" class="approve">
        <input type="hidden" name="_csrf" value="${session.csrf}" />
        <input type="hidden" name="digest" value="${view.digest}" />
        ${narrowing} ${confirm}
        <button type="submit" class="primary" data-testid="approve" ${disabled}>Approve</button>
      </form>
      <form method="post" action="/console/requests/${view.id}/deny" class="deny">
        <input type="hidden" name="_csrf" value="${session.csrf}" />
        <label>Comment <textarea name="comment" maxlength="1000" rows="2" ${disabled}></textarea></label>
        <button type="submit" class="danger" data-testid="deny" ${disabled}>Deny</button>
      </form>
    </div>
    ${
      detail.lease && detail.lease.state === 'active'
        ? html`<form method="post" action="/console/leases/${detail.lease.id}/revoke" class="revoke">
            <input type="hidden" name="_csrf" value="${session.csrf}" />
            <input type="hidden" name="returnTo" value="/console/requests/${view.id}" />
            <p>
              The credential of this request is active (<code>${detail.lease.fingerprint.split(' ')[0]}</code>, until
              ${time(detail.lease.expiresAt)}).
            </p>
            <button type="submit" class="danger" data-testid="revoke-lease">Revoke now</button>
          </form>`
        : ''
    }
  </section>`;
}

export function requestPage(page: RequestPage): SafeHtml {
  const { view } = page.detail;
  return layout(
    { title: `${view.role}@${view.environment} · ${view.state} · Leash`, session: page.session },
    html`<h1 class="page-title">
        ${view.role} <span class="sub">in</span> ${view.environment} ${stateBadge(view.state)}
        ${riskBadge(view.risk.level)}
      </h1>
      <p class="sub">
        Request <code>${view.id}</code> · digest <code>${view.digest.slice(0, 16)}</code> · policy ${view.policyVersion}
      </p>
      <div class="grid">
        <div class="col-main">${risk(page.detail)} ${asked(page.detail)} ${plan(page.detail)} ${decision(page)}</div>
        <div class="col-side">
          ${identity(page)} ${workflow(page.detail)} ${sessionContext(page.detail)} ${auditTrail(page.detail)}
        </div>
      </div>`,
  );
}
