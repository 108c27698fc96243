import type { CliConfig } from './cli-config';
import { Exit, ExitError } from './cli-errors';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * OIDC device authorization grant (RFC 8628) against the configured IdP; prompts go to stderr.
 * Returns the identity token; it is never written to a file.
 */
export async function deviceLogin(config: CliConfig): Promise<string> {
  const oidc = config.file.oidc;
  if (!oidc) {
    throw new ExitError(Exit.Usage, `leash login needs "oidc": {"issuer", "clientId"} in ${config.filePath}`);
  }
  const client = await import('openid-client');
  const issuer = new URL(oidc.issuer);
  // Plain HTTP only for an IdP on this machine's loopback (RFC 8252 §8.3).
  const insecure = issuer.protocol === 'http:' && LOOPBACK.has(issuer.hostname);
  let configuration;
  try {
    configuration = await client.discovery(issuer, oidc.clientId, undefined, client.None(), {
      ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
    });
  } catch (err) {
    throw new ExitError(
      Exit.Unreachable,
      `cannot reach the identity provider ${oidc.issuer}: ${(err as Error).message}`,
    );
  }
  const device = await client.initiateDeviceAuthorization(configuration, { scope: oidc.scope });
  process.stderr.write(
    `leash: to sign in, open ${device.verification_uri_complete ?? device.verification_uri} and confirm the code ${device.user_code}\n`,
  );
  let tokens;
  try {
    tokens = await client.pollDeviceAuthorizationGrant(configuration, device);
  } catch (err) {
    const code = (err as { error?: string }).error;
    throw new ExitError(
      code === 'expired_token' ? Exit.Expired : code === 'access_denied' ? Exit.Denied : Exit.Unauthenticated,
      `sign-in failed: ${code ?? (err as Error).message}`,
    );
  }
  const token = oidc.token === 'access_token' ? tokens.access_token : tokens.id_token;
  if (!token) {
    throw new ExitError(Exit.Unauthenticated, `the identity provider returned no ${oidc.token}`);
  }
  const subject = tokens.claims()?.sub;
  process.stderr.write(`leash: signed in${subject ? ` as ${subject}` : ''}\n`);
  return token;
}
