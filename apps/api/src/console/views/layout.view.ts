import { html, type SafeHtml } from '../html';
import type { ConsoleSession } from '../console-session.store';

export interface PageChrome {
  title: string;
  session?: ConsoleSession;
  active?: 'pending' | 'leases';
  /** Extra attributes on <body>, e.g. what the script should poll. */
  bodyData?: Record<string, string>;
}

export function layout(chrome: PageChrome, body: SafeHtml): SafeHtml {
  const s = chrome.session;
  const data = Object.entries(chrome.bodyData ?? {}).map(([k, v]) => html` data-${k}="${v}"`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${chrome.title}</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body${data}>
<header class="top">
  <a class="brand" href="/console">Leash</a>
  ${
    s
      ? html`<nav>
            <a href="/console" ${chrome.active === 'pending' ? html` aria-current="page"` : ''}>Pending</a>
            <a href="/console/leases" ${chrome.active === 'leases' ? html` aria-current="page"` : ''}>Leases</a>
          </nav>
          <div class="me">
            ${s.dev ? html`<span class="badge dev" title="Signed in through the development issuer">DEV LOGIN</span>` : ''}
            <span class="who" data-testid="who">${s.principal.id}</span>
            ${
              s.login.mfa
                ? html`<span class="badge ok" data-testid="mfa-status">MFA verified</span>`
                : html`<span class="badge warn" data-testid="mfa-status">no MFA</span>`
            }
            <form method="post" action="/console/logout" class="inline">
              <input type="hidden" name="_csrf" value="${s.csrf}" />
              <button type="submit" class="link" data-testid="logout">Log out</button>
            </form>
          </div>`
      : ''
  }
</header>
<main>
${body}
</main>
</body>
</html>
`;
}

export function errorPage(status: number, title: string, detail: string, session?: ConsoleSession): SafeHtml {
  return layout(
    { title: `${status} ${title} · Leash`, session },
    html`<section class="card error" data-testid="error">
      <h1>${status} · ${title}</h1>
      <p>${detail}</p>
      <p><a href="/console">Back to the console</a></p>
    </section>`,
  );
}
