import type { ApiConfig } from '@leash/config';

/** What the console's controllers need to know of the configuration. */
export interface ConsoleSettings {
  cookieName: string;
  preLoginCookieName: string;
  secureCookies: boolean;
  sessionTtlSeconds: number;
  mfaMaxAgeSeconds: number;
  devLogin: boolean;
  oidc: boolean;
  publicUrl: string;
}

export function consoleSettingsOf(config: ApiConfig): ConsoleSettings {
  const secure = config.console.secureCookies;
  return {
    // __Host- cookies must be Secure, host-only and Path=/: browsers refuse them otherwise.
    cookieName: secure ? '__Host-leash_console' : 'leash_console',
    preLoginCookieName: secure ? '__Host-leash_login' : 'leash_login',
    secureCookies: secure,
    sessionTtlSeconds: config.console.sessionTtlSeconds,
    mfaMaxAgeSeconds: config.console.mfaMaxAgeSeconds,
    devLogin: config.devIssuer,
    oidc: config.console.oidc !== undefined,
    publicUrl: config.publicUrl,
  };
}

export const CONSOLE_SETTINGS = Symbol('ConsoleSettings');
