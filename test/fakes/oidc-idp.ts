import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { Provider } from 'oidc-provider';
import { freePort } from '../support/free-port';

export interface IdpUser {
  sub: string;
  password: string;
  email: string;
  groups: string[];
  /** Authentication methods this user's login reports (`amr`), e.g. ['pwd', 'otp'] for MFA. */
  amr: string[];
}

export const IDP_CLIENT = { id: 'leash-console', secret: 'console-client-secret-for-tests-only' };

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A real OpenID Connect provider (panva/oidc-provider) on loopback with password users, some of
 * whose logins count as MFA. PKCE is required; the login page is a plain form the browser fills in.
 */
export class OidcIdp {
  readonly logins: string[] = [];

  private constructor(
    readonly issuer: string,
    private readonly server: Server,
  ) {}

  static async start(users: IdpUser[], redirectUri: string, port?: number): Promise<OidcIdp> {
    port ??= await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const byId = new Map(users.map((u) => [u.sub, u]));
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: IDP_CLIENT.id,
          client_secret: IDP_CLIENT.secret,
          redirect_uris: [redirectUri],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_post',
          id_token_signed_response_alg: 'ES256',
        },
      ],
      jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'ES256', use: 'sig' }] },
      claims: { openid: ['sub', 'amr', 'acr', 'auth_time'], email: ['email'], groups: ['groups'], profile: ['name'] },
      scopes: ['openid', 'email', 'groups', 'profile'],
      findAccount: (_ctx: unknown, id: string) => {
        const user = byId.get(id);
        return user
          ? { accountId: id, claims: () => ({ sub: id, email: user.email, groups: user.groups, name: id }) }
          : undefined;
      },
      pkce: { required: () => true },
      features: { devInteractions: { enabled: false } },
      interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
      cookies: { keys: ['oidc-idp-test-cookie-key'] },
      conformIdTokenClaims: false,
      clientBasedCORS: () => false,
    });
    const callback = provider.callback();
    const idp = new OidcIdp(issuer, createServer());
    idp.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.url?.startsWith('/interaction/')) {
        idp.interaction(provider, byId, req, res).catch((err: unknown) => {
          res.statusCode = 500;
          res.end(String(err));
        });
        return;
      }
      callback(req, res);
    });
    await new Promise<void>((resolve) => idp.server.listen(port, '127.0.0.1', resolve));
    return idp;
  }

  private async interaction(
    provider: Provider,
    users: Map<string, IdpUser>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><title>Test IdP sign-in</title><h1>Test IdP</h1>
<form method="post" action="/interaction/${esc(details.uid)}">
<label>User <input name="login" id="login"></label>
<label>Password <input name="password" id="password" type="password"></label>
<button type="submit" id="submit">Sign in</button></form>`);
      return;
    }
    const body = new URLSearchParams(await readBody(req));
    const user = users.get(body.get('login') ?? '');
    if (!user || user.password !== body.get('password')) {
      res.statusCode = 401;
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end('<p id="error">wrong user or password</p>');
      return;
    }
    this.logins.push(user.sub);
    const params = details.params as { client_id: string; scope: string };
    const grant = new provider.Grant({ accountId: user.sub, clientId: params.client_id });
    grant.addOIDCScope(params.scope);
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.sub, amr: user.amr }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      data += c;
      if (data.length > 8192) {
        reject(new Error('body too large'));
      }
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}
