import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { Exit, ExitError } from './cli-errors';

/** The CLI's configuration file (`~/.config/leash/config.json`). It never holds a secret. */
const ConfigFileSchema = z.strictObject({
  /** Broker URL; LEASH_URL wins. */
  url: z.string().url().optional(),
  /** Default agent session id; LEASH_SESSION and --session win. */
  session: z.string().min(1).max(128).optional(),
  /** A command (run with /bin/sh -c) that prints an identity token on stdout, e.g. a CI OIDC helper. */
  identityCommand: z.string().min(1).optional(),
  /** OIDC device authorization grant for `leash login`. */
  oidc: z
    .strictObject({
      issuer: z.string().url(),
      clientId: z.string().min(1),
      scope: z.string().default('openid'),
      /** Which token of the grant is the identity token sent to the broker. */
      token: z.enum(['id_token', 'access_token']).default('id_token'),
    })
    .optional(),
  /** Default idle limit of `leash run` sessions (e.g. "2m"). */
  idle: z.string().optional(),
  /** `leash run`: GCP workload identity federation for the agent's executable-sourced credentials. */
  gcp: z
    .strictObject({
      audience: z.string().min(1),
      role: z.string().min(1),
      environment: z.string().min(1),
      tokenUrl: z.string().url().optional(),
      serviceAccountImpersonationUrl: z.string().url().optional(),
    })
    .optional(),
  /** `leash run --sandbox`: more paths (absolute or relative to HOME) the agent sees empty. */
  sandbox: z.strictObject({ hide: z.array(z.string().min(1)).max(64).default([]) }).optional(),
});
export type ConfigFile = z.infer<typeof ConfigFileSchema>;

export interface CliConfig {
  url: string;
  /** Where the URL came from: a hint to set LEASH_URL makes sense only for the built-in default. */
  urlSource: 'env' | 'file' | 'default';
  file: ConfigFile;
  filePath: string;
  /** LEASH_TOKEN: a static identity token (CI). */
  envToken?: string;
  session?: string;
  agentSocket?: string;
  runtimeDir?: string;
}

/** The one place the CLI reads its environment (LEASH_URL, LEASH_TOKEN, LEASH_SESSION, LEASH_AGENT_SOCK, ...). */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const filePath =
    env.LEASH_CONFIG ?? join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'leash', 'config.json');
  const file = readConfigFile(filePath);
  const urlSource = env.LEASH_URL ? 'env' : file.url ? 'file' : 'default';
  return {
    url: brokerUrl(
      env.LEASH_URL || file.url || DEFAULT_URL,
      urlSource === 'env' ? 'LEASH_URL' : `"url" in ${filePath}`,
    ),
    urlSource,
    file,
    filePath,
    ...(env.LEASH_TOKEN ? { envToken: env.LEASH_TOKEN.trim() } : {}),
    ...(env.LEASH_SESSION || file.session ? { session: env.LEASH_SESSION || file.session } : {}),
    ...(env.LEASH_AGENT_SOCK ? { agentSocket: env.LEASH_AGENT_SOCK } : {}),
    ...(env.XDG_RUNTIME_DIR ? { runtimeDir: env.XDG_RUNTIME_DIR } : {}),
  };
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** The broker URL without trailing slashes; anything but an http(s) URL is a usage error (exit 2). */
function brokerUrl(value: string, where: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
    throw new ExitError(
      Exit.Usage,
      `${where} is not a broker URL: "${value}" (expected http(s)://host[:port], e.g. https://leash.example.com)`,
    );
  }
  if (url.username || url.password) {
    throw new ExitError(Exit.Usage, `${where} must not hold credentials (user:password@)`);
  }
  return value.replace(/\/+$/, '');
}

function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return {};
    }
    throw new ExitError(Exit.Usage, `cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ExitError(Exit.Usage, `${path} is not valid JSON`);
  }
  if (json && typeof json === 'object' && 'token' in json) {
    throw new ExitError(
      Exit.Usage,
      `${path} holds a "token": Leash never keeps an identity token in a plaintext file; use LEASH_TOKEN, identityCommand or leash login`,
    );
  }
  const parsed = ConfigFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ExitError(Exit.Usage, `${path} is invalid:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

export { agentSocketFromEnv } from './agent/agent-env';
