import { execFile, spawn } from 'node:child_process';
import type { CliConfig } from './cli-config';
import { Exit, ExitError } from './cli-errors';

/** Yields the caller's identity token (a bearer JWT), refreshed as its source allows. */
export type TokenSource = () => Promise<string>;

const KEYRING_SERVICE = 'leash';

/** Seconds until the JWT expires (Infinity if it carries no exp or is not a JWT). */
export function secondsLeft(token: string, now = Date.now()): number {
  const exp = jwtClaims(token)?.exp;
  return typeof exp === 'number' ? exp - now / 1000 : Infinity;
}

/** The unverified claims of a JWT (for display and expiry only; the broker verifies). */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  try {
    const claims: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Identity sources, first that answers wins: LEASH_TOKEN (static, CI); the session agent's memory
 * (`leash login` inside `leash run`); `identityCommand`; the OS keyring (`leash login` outside an agent).
 */
export function identitySource(config: CliConfig, fromAgent?: () => Promise<string | undefined>): TokenSource {
  let cached: string | undefined;
  return async () => {
    if (config.envToken) {
      return config.envToken;
    }
    if (cached && secondsLeft(cached) > 30) {
      return cached;
    }
    cached = (await fromAgent?.()) ?? (await fromCommand(config)) ?? (await keyringLookup(config));
    if (!cached) {
      throw new ExitError(
        Exit.Unauthenticated,
        'not authenticated: set LEASH_TOKEN, configure identityCommand, or run `leash login` (see leash help login)',
      );
    }
    return cached;
  };
}

async function fromCommand(config: CliConfig): Promise<string | undefined> {
  const command = config.file.identityCommand;
  if (!command) {
    return undefined;
  }
  const out = await new Promise<string>((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { timeout: 60_000, maxBuffer: 64 * 1024 }, (err, stdout) => {
      if (err) {
        reject(new Error(err.code === undefined ? err.message : `exit code ${String(err.code)}`));
      } else {
        resolve(stdout);
      }
    });
  }).catch((err: Error) => {
    throw new ExitError(Exit.Unauthenticated, `identityCommand failed: ${err.message.split('\n')[0]}`);
  });
  const token = out.trim();
  if (!token) {
    throw new ExitError(Exit.Unauthenticated, 'identityCommand printed no token');
  }
  return token;
}

function keyringAccount(config: CliConfig): string | undefined {
  return config.file.oidc ? `${config.file.oidc.issuer}#${config.file.oidc.clientId}` : undefined;
}

/** Runs secret-tool (libsecret) with the secret on stdin; undefined when no keyring is available. */
function secretTool(args: string[], input?: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn('secret-tool', args, { stdio: ['pipe', 'pipe', 'ignore'], timeout: 10_000 });
    } catch {
      resolve(undefined);
      return;
    }
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? out : undefined));
    child.stdin.end(input ?? '');
  });
}

async function keyringLookup(config: CliConfig): Promise<string | undefined> {
  const account = keyringAccount(config);
  if (!account) {
    return undefined;
  }
  const token = (await secretTool(['lookup', 'service', KEYRING_SERVICE, 'account', account]))?.trim();
  return token && secondsLeft(token) > 30 ? token : undefined;
}

/** Whether an OS keyring client (secret-tool) is installed. */
export function keyringAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('secret-tool', [], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', () => resolve(true));
  });
}

/** Stores the token in the OS keyring; false when there is none (the token is then not kept). */
export async function keyringStore(config: CliConfig, token: string): Promise<boolean> {
  const account = keyringAccount(config);
  if (!account) {
    return false;
  }
  const stored = await secretTool(
    ['store', '--label=Leash identity token', 'service', KEYRING_SERVICE, 'account', account],
    token,
  );
  return stored !== undefined;
}
