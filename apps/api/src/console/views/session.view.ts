import type { SessionDashboard } from '@leash/broker';
import { SESSION_STEPS, type SessionEventView, type SessionStep } from '@leash/contracts';
import { html, type SafeHtml } from '../html';
import type { ConsoleSession } from '../console-session.store';
import { riskBadge, stateBadge, time } from './format';
import { layout } from './layout.view';
import { decision, plan, risk } from './request.view';

const STEP_LABELS: Record<SessionStep, string> = {
  understand: 'Understand Request',
  plan: 'Plan Actions',
  execute: 'Execute Changes',
  request_approval: 'Request Approval',
  apply: 'Apply to Environment',
  validate: 'Validate & Report',
};

export interface SessionPage {
  session: ConsoleSession;
  dashboard: SessionDashboard;
}

function row(label: string, value: SafeHtml | string | undefined): SafeHtml {
  return html`<div class="kv">
    <dt>${label}</dt>
    <dd>${value ?? html`<span class="muted">—</span>`}</dd>
  </div>`;
}

/** Identity & access: who runs the agent, who watches, and whether the session holds production access now. */
export function accessSection(page: SessionPage): SafeHtml {
  const { dashboard: d, session: s } = page;
  const viewer = html`<span data-testid="viewer">${s.principal.id}</span>
    ${s.login.mfa ? html`<span class="badge ok" data-testid="viewer-mfa">MFA verified</span>` : html`<span class="badge warn" data-testid="viewer-mfa">no MFA</span>`}
    <span class="sub">as ${d.capacities.join(', ')}</span>`;
  const production = d.productionAccess
    ? html`<span class="badge prod" data-testid="production-access">PRIVILEGED SESSION ACTIVE: production access</span>`
    : html`<span class="badge ok" data-testid="production-access">no production access</span>`;
  return html`<dl>
    ${row('Requester (agent identity)', html`<span data-testid="session-requester">${d.session.principal}</span>`)}
    ${row('Owner (launched the agent)', d.session.owner)}
    ${row('Agent', d.session.agent ? html`${d.session.agent}${d.session.host ? html` on ${d.session.host}` : ''}` : d.session.host)}
    ${row(
      'Session',
      html`${stateBadge(d.session.state)}
      ${d.session.state === 'active' && d.session.idleDeadline ? html`<span class="sub">idle limit ${time(d.session.idleDeadline)}</span>` : ''}
      ${d.session.endedAt ? html`<span class="sub">ended ${time(d.session.endedAt)} (${d.session.endReason ?? '?'})</span>` : ''}`,
    )}
    ${row('Production access now', production)} ${row('You (viewing)', viewer)}
  </dl>`;
}

/** Secrets in use: the session's leases by fingerprint (last four characters) and state; never a secret. */
export function secretsSection(d: SessionDashboard): SafeHtml {
  if (d.leases.length === 0) {
    return html`<p class="muted">No credential has been issued to this session.</p>`;
  }
  return html`<ul class="plain secrets" data-testid="secrets">
    ${d.leases.map(
      (l) =>
        html`<li data-lease-id="${l.id}">
          <code class="fp">${l.fingerprint.split(' ')[0]} ${l.state.toUpperCase()}</code> ${l.role}@${l.environment}
          <span class="sub"
            >${l.state === 'active' ? html`until ${time(l.expiresAt)}` : html`issued ${time(l.issuedAt)}`}</span
          >
        </li>`,
    )}
  </ul>`;
}

export function auditSection(d: SessionDashboard): SafeHtml {
  if (d.audit.length === 0) {
    return html`<p class="muted">No audit events yet.</p>`;
  }
  return html`<ol class="audit" data-testid="session-audit">
    ${d.audit.map(
      (e) =>
        html`<li>
          ${time(e.time)} <strong>${e.action}</strong> by ${e.actor.id}
          ${e.role ? html`<span class="sub">${e.role}@${e.environment ?? '?'}</span>` : ''}
        </li>`,
    )}
  </ol>`;
}

function logLine(e: SessionEventView): SafeHtml {
  const posture = e.kind === 'posture';
  return html`<li
    class="log log-${e.level}${posture ? ' posture' : ''}"
    data-event-id="${e.id}"
    data-level="${e.level}"
    data-kind="${e.kind}"
  >
    ${time(e.at)} <span class="lvl">${e.level.toUpperCase()}</span>
    ${posture ? html`<span class="badge posture-badge">ENDPOINT POSTURE</span>` : ''}
    ${e.step ? html`<span class="step-tag">${STEP_LABELS[e.step]}</span>` : ''}
    <span class="msg">${e.message}</span>
  </li>`;
}

/** Live logs: what the agent reported, timestamped, newest last. */
export function logsSection(d: SessionDashboard): SafeHtml {
  if (d.events.length === 0) {
    return html`<p class="muted" data-testid="no-events">
      The agent has reported nothing yet (<code>leash event</code>, the MCP tool <code>report_progress</code>).
    </p>`;
  }
  return html`<ol class="logs" data-testid="logs">
    ${d.events.map(logLine)}
  </ol>`;
}

/** The agent workflow steps, the last one the agent reported highlighted. */
export function workflowSection(d: SessionDashboard): SafeHtml {
  const at = d.currentStep ? SESSION_STEPS.indexOf(d.currentStep) : -1;
  return html`<ol class="steps" data-testid="session-workflow">
      ${SESSION_STEPS.map(
        (step, i) =>
          html`<li
            data-step="${step}"
            class="${i < at ? 'done' : i === at ? 'current' : 'todo'}"
            ${i === at ? html` aria-current="step"` : ''}
          >
            ${STEP_LABELS[step]}
          </li>`,
      )}
    </ol>
    ${at < 0 ? html`<p class="sub">No step reported yet.</p>` : ''}`;
}

export function requestsSection(d: SessionDashboard): SafeHtml {
  if (d.requests.length === 0) {
    return html`<p class="muted">No request of this session that you may read.</p>`;
  }
  return html`<ul class="plain">
    ${d.requests.map(
      (r) =>
        html`<li>
          <a href="/console/requests/${r.id}">${r.role}@${r.environment}</a> ${stateBadge(r.state)}
          ${riskBadge(r.risk.level)} <span class="sub">${time(r.createdAt)}</span>
        </li>`,
    )}
  </ul>`;
}

/** The parts of the page that the console script refreshes while it is open. */
export function liveSections(page: SessionPage): Record<string, string> {
  return {
    access: accessSection(page).value,
    secrets: secretsSection(page.dashboard).value,
    audit: auditSection(page.dashboard).value,
    logs: logsSection(page.dashboard).value,
    workflow: workflowSection(page.dashboard).value,
    requests: requestsSection(page.dashboard).value,
  };
}

function card(id: string, title: string, live: string, body: SafeHtml): SafeHtml {
  return html`<section class="card" aria-labelledby="h-${id}">
    <h2 id="h-${id}">${title}</h2>
    <div data-live-section="${live}">${body}</div>
  </section>`;
}

export function sessionPage(page: SessionPage): SafeHtml {
  const d = page.dashboard;
  const pending = d.pending;
  const id = d.session.id;
  return layout(
    {
      title: `Agent session ${id} · Leash`,
      session: page.session,
      bodyData: { live: `/console/fragments/sessions/${encodeURIComponent(id)}` },
    },
    html`<h1 class="page-title">
        Agent session <code>${id}</code> ${stateBadge(d.session.state)}
        ${d.productionAccess ? html`<span class="badge prod">production access</span>` : ''}
      </h1>
      <p class="sub">What the agent reports, what it holds and what waits for a decision; updates live.</p>
      <div class="grid">
        <div class="col-main">
          ${card('workflow', 'Agent workflow', 'workflow', workflowSection(d))}
          ${card('logs', 'Live logs', 'logs', logsSection(d))}
          ${
            pending
              ? html`<h2 class="section-title" data-testid="pending-request">
                    Awaiting your decision:
                    <a href="/console/requests/${pending.view.id}">${pending.view.role}@${pending.view.environment}</a>
                  </h2>
                  ${risk(pending)} ${plan(pending)}
                  ${decision({ session: page.session, detail: pending, narrowingSupported: true })}`
              : ''
          }
        </div>
        <div class="col-side">
          ${card('access', 'Identity & access', 'access', accessSection(page))}
          ${card('secrets', 'Secrets in use', 'secrets', secretsSection(d))}
          ${card('audit', 'Audit trail', 'audit', auditSection(d))}
          ${card('requests', 'Requests of this session', 'requests', requestsSection(d))}
        </div>
      </div>`,
  );
}
