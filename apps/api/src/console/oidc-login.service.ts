import * as client from 'openid-client';
import { CoreError, CoreErrorCode, type Principal } from '@leash/core';
import type { ConsoleConfig } from '@leash/config';
import type { LoginEvidence } from '@leash/approvals';
import type { PendingLogin } from './console-session.store';

type OidcSettings = NonNullable<ConsoleConfig['oidc']>;

export interface OidcIdentity {
  principal: Principal;
  login: LoginEvidence;
  amr: string[];
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** OpenID Connect authorization code flow with PKCE against the configured IdP (openid-client). */
export class OidcLogin {
  private configuration?: Promise<client.Configuration>;

  constructor(
    private readonly settings: OidcSettings,
    private readonly redirectUri: string,
  ) {}

  /** Starts a login: returns the IdP URL and what the callback must check. */
  async start(returnTo: string, mfa: boolean): Promise<{ url: string; state: string; pending: PendingLogin }> {
    const config = await this.config();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const params: Record<string, string> = {
      redirect_uri: this.redirectUri,
      scope: this.settings.scopes,
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    };
    if (mfa) {
      // A fresh sign-in whose time the IdP reports; ask for a multi-factor class when one is configured.
      params.prompt = 'login';
      params.max_age = '0';
      if (this.settings.mfaAcr) {
        params.acr_values = this.settings.mfaAcr;
      }
    }
    const url = client.buildAuthorizationUrl(config, params);
    return { url: url.href, state, pending: { codeVerifier, nonce, returnTo } };
  }

  /** Finishes a login from the callback URL; throws Unauthenticated when the IdP's answer fails a check. */
  async finish(callbackUrl: URL, state: string, pending: PendingLogin): Promise<OidcIdentity> {
    const config = await this.config();
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (cause) {
      if (
        cause instanceof client.ClientError ||
        cause instanceof client.ResponseBodyError ||
        cause instanceof client.AuthorizationResponseError
      ) {
        throw new CoreError(
          CoreErrorCode.Unauthenticated,
          `the sign-in was not accepted (${cause.message})`,
          {},
          { cause },
        );
      }
      throw new CoreError(CoreErrorCode.Unavailable, 'the identity provider could not be reached', {}, { cause });
    }
    const claims = tokens.claims();
    if (!claims) {
      throw new CoreError(CoreErrorCode.Unauthenticated, 'the identity provider returned no ID token');
    }
    let merged: Record<string, unknown> = { ...claims };
    if (claims[this.settings.groupsClaim] === undefined && config.serverMetadata().userinfo_endpoint) {
      // Many IdPs put groups and email only in userinfo; identity and MFA still come from the ID token.
      const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      merged = { ...info, ...claims };
    }
    return this.toIdentity(merged, claims.iss);
  }

  private toIdentity(claims: Record<string, unknown>, issuer: string): OidcIdentity {
    const groupsClaim = claims[this.settings.groupsClaim];
    const groups = Array.isArray(groupsClaim) ? groupsClaim.filter((g): g is string => typeof g === 'string') : [];
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((a): a is string => typeof a === 'string') : [];
    const authTime = typeof claims.auth_time === 'number' ? claims.auth_time * 1000 : undefined;
    const email = typeof claims.email === 'string' ? claims.email : undefined;
    return {
      principal: { id: String(claims.sub), issuer, groups, ...(email ? { email } : {}) },
      login: { mfa: amr.some((a) => this.settings.mfaAmr.includes(a)), ...(authTime ? { authTime } : {}) },
      amr,
    };
  }

  private config(): Promise<client.Configuration> {
    if (!this.configuration) {
      const issuer = new URL(this.settings.issuer);
      const auth = this.settings.clientSecret ? client.ClientSecretPost(this.settings.clientSecret) : client.None();
      this.configuration = client
        .discovery(issuer, this.settings.clientId, undefined, auth, {
          // Plain http is accepted by config validation only for a loopback IdP (tests, local development).
          ...(issuer.protocol === 'http:' && LOOPBACK.has(issuer.hostname)
            ? { execute: [client.allowInsecureRequests] }
            : {}),
          timeout: 5,
        })
        .catch((cause: unknown) => {
          this.configuration = undefined;
          throw new CoreError(CoreErrorCode.Unavailable, 'the identity provider could not be reached', {}, { cause });
        });
    }
    return this.configuration;
  }
}

export const OIDC_LOGIN = Symbol('OidcLogin');
