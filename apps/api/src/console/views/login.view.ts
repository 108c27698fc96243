import { html, type SafeHtml } from '../html';
import { layout } from './layout.view';

export interface LoginPage {
  oidc: boolean;
  dev?: { csrf: string };
  returnTo: string;
  notice?: string;
}

export function loginPage(page: LoginPage): SafeHtml {
  return layout(
    { title: 'Sign in · Leash' },
    html`<section class="card narrow">
        <h1>Sign in to the approver console</h1>
        ${page.notice ? html`<p class="flash" role="status" data-testid="notice">${page.notice}</p>` : ''}
        ${
          page.oidc
            ? html`<p>
                <a
                  class="button primary"
                  data-testid="oidc-login"
                  href="/console/login/oidc?returnTo=${encodeURIComponent(page.returnTo)}"
                  >Sign in with your identity provider</a
                >
              </p>`
            : html`<p class="muted">No identity provider is configured (LEASH_OIDC_ISSUER).</p>`
        }
      </section>
      ${
        page.dev
          ? html`<section class="card narrow dev-login" data-testid="dev-login">
              <h2><span class="badge dev">DEVELOPMENT</span> Development sign-in</h2>
              <p class="explain">
                The development issuer is on (LEASH_DEV_ISSUER=true): anyone who reaches this page can pick any
                identity. Never enable it in production.
              </p>
              <form method="post" action="/console/login/dev">
                <input type="hidden" name="_csrf" value="${page.dev.csrf}" />
                <input type="hidden" name="returnTo" value="${page.returnTo}" />
                <label
                  >Subject <input name="subject" value="alice" required maxlength="128" pattern="[A-Za-z0-9@._:\\-]+"
                /></label>
                <label>Email (optional) <input name="email" type="email" maxlength="256" /></label>
                <label>Groups (comma-separated) <input name="groups" value="prod-approvers" maxlength="512" /></label>
                <label class="check" data-testid="dev-mfa"
                  ><input type="checkbox" name="mfa" value="yes" checked /> Count this session as MFA (development only:
                  no second factor is checked)</label
                >
                <button type="submit" class="primary" data-testid="dev-login-submit">Sign in (development)</button>
              </form>
            </section>`
          : ''
      }`,
  );
}
