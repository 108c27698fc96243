import { parseArgs } from 'node:util';
import type { CliConfig } from '../cli-config';
import { cliConfig } from '../cli-context';
import { Exit, ExitError } from '../cli-errors';
import { agentCall } from '../agent/agent-client';
import { keyringAvailable, keyringStore } from '../identity';

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

/** `leash login`: signs in and keeps the token in the session agent's memory or the OS keyring, never a file. */
export async function loginCommand(args: string[]): Promise<number> {
  parseArgs({ args, options: {} });
  const config = cliConfig();
  if (!config.agentSocket && !(await keyringAvailable())) {
    throw new ExitError(
      Exit.Unauthenticated,
      'no OS keyring (secret-tool) is available and Leash never writes the token to a file: sign in with `leash run --login -- CMD` instead, which keeps it in the agent’s memory',
    );
  }
  const token = await deviceLogin(config);
  if (config.agentSocket) {
    await agentCall(config.agentSocket, { op: 'set-identity', token }, 10_000);
    process.stderr.write('leash: the session agent holds the token in memory until the session ends\n');
    return Exit.Ok;
  }
  if (await keyringStore(config, token)) {
    process.stderr.write('leash: the token is in the OS keyring (secret-tool)\n');
    return Exit.Ok;
  }
  throw new ExitError(
    Exit.Unauthenticated,
    'no OS keyring (secret-tool) is available and Leash never writes the token to a file: sign in with `leash run --login -- CMD` instead, which keeps it in the agent’s memory',
  );
}
