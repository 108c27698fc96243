import { join } from 'node:path';
import { parse } from 'yaml';
import { classify, scanFingerprint, suggestRole, type Finding, type ScanContext } from './finding';
import { exists, listDir, readJson, readText, tilde } from './scan-files';

/** Token variables that grant access on their own (dropped by `leash run`, reported by `leash scan`). */
export const TOKEN_VARIABLES = [
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'GH_ENTERPRISE_TOKEN',
  'GITHUB_ENTERPRISE_TOKEN',
  'GITLAB_TOKEN',
  'NPM_TOKEN',
  'NODE_AUTH_TOKEN',
  'DOCKER_AUTH_CONFIG',
  'HEROKU_API_KEY',
  'DIGITALOCEAN_ACCESS_TOKEN',
  'CLOUDFLARE_API_TOKEN',
  'VAULT_TOKEN',
  'SLACK_BOT_TOKEN',
  'AZURE_CLIENT_SECRET',
  'ARM_CLIENT_SECRET',
];

/** Values that are credentials by their shape, whatever the variable is called. */
const SECRET_SHAPES: { kind: string; pattern: RegExp }[] = [
  { kind: 'aws-access-key', pattern: /^(AKIA|ASIA)[0-9A-Z]{16}$/ },
  { kind: 'github-token', pattern: /^(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})$/ },
  { kind: 'gitlab-token', pattern: /^glpat-[A-Za-z0-9_-]{20,}$/ },
  { kind: 'slack-token', pattern: /^xox[abposr]-[A-Za-z0-9-]{10,}$/ },
  { kind: 'stripe-live-key', pattern: /^[rs]k_live_[A-Za-z0-9]{16,}$/ },
  { kind: 'npm-token', pattern: /^npm_[A-Za-z0-9]{30,}$/ },
  { kind: 'private-key', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
];

/** Variable names that hold secrets in .env files. */
const SECRET_NAMES =
  /^(AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|.*_(API_KEY|APIKEY|SECRET|SECRET_KEY|TOKEN|PASSWORD|PASSWD|PRIVATE_KEY|CREDENTIALS?)|DATABASE_URL|.*_DSN)$/i;

export function scanGeneric(ctx: ScanContext): Finding[] {
  return [
    ...scanEnvironment(ctx),
    ...scanDotEnv(ctx),
    ...scanDocker(ctx),
    ...scanNetrc(ctx),
    ...scanNpm(ctx),
    ...scanGh(ctx),
    ...scanAzure(ctx),
  ];
}

function scanEnvironment(ctx: ScanContext): Finding[] {
  return TOKEN_VARIABLES.filter((name) => ctx.env[name]).map((name) => {
    const c = classify(ctx, [name]);
    return {
      provider: name.includes('AZURE') || name.startsWith('ARM_') ? 'azure' : 'generic',
      kind: 'token-variable',
      location: `environment: ${name}`,
      fingerprint: scanFingerprint(ctx.env[name] as string),
      production: c.production,
      reason: c.reason,
      fix: `do not export ${name} in shells that start agents; \`leash run\` drops it from the agent's environment`,
    } satisfies Finding;
  });
}

function scanDotEnv(ctx: ScanContext): Finding[] {
  const findings: Finding[] = [];
  const files = listDir(ctx.cwd).filter(
    (p) => /\/\.env(\.[A-Za-z0-9_-]+)?$/.test(p) && !/\.(example|sample|template)$/.test(p),
  );
  for (const file of files) {
    const lines = (readText(file) ?? '').split(/\r?\n/);
    lines.forEach((line, index) => {
      const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
      if (!m) {
        return;
      }
      const [, name, rawValue] = m;
      const value = rawValue.replace(/^(['"])(.*)\1$/, '$2');
      if (value.length < 8 || /^\$\{?[A-Za-z_]/.test(value)) {
        return;
      }
      const shape = SECRET_SHAPES.find((s) => s.pattern.test(value));
      // An access key id alone is an identifier; its secret on another line is the finding.
      if (shape?.kind === 'aws-access-key' && name !== 'AWS_ACCESS_KEY_ID') {
        return;
      }
      if ((!shape || shape.kind === 'aws-access-key') && !SECRET_NAMES.test(name)) {
        return;
      }
      const c = classify(ctx, [file.split('/').pop(), name, shape?.kind === 'stripe-live-key' ? 'live' : undefined]);
      const aws = /^AWS_/.test(name);
      const { role, env } = suggestRole(ctx, 'aws', c.environment);
      findings.push({
        provider: aws ? 'aws' : 'generic',
        kind: aws ? 'dotenv-aws-key' : `dotenv-${shape?.kind ?? 'secret'}`,
        location: `${tilde(ctx.home, file)}:${index + 1} ${name}`,
        fingerprint: scanFingerprint(value),
        production: aws && !c.decided ? true : c.production,
        reason: aws && !c.decided ? 'a long-lived AWS key whose reach is unknown: treated as production' : c.reason,
        fix: aws
          ? `remove ${name} from ${file.split('/').pop()} and deactivate the key in IAM; use \`aws --profile ${role}@${env}\` under \`leash run\``
          : `remove ${name} from ${file.split('/').pop()}; keep secrets in a secret manager, or ask Leash for a short-lived credential`,
      });
    });
  }
  return findings;
}

function scanDocker(ctx: ScanContext): Finding[] {
  const dir = ctx.env.DOCKER_CONFIG || join(ctx.home, '.docker');
  const path = join(dir, 'config.json');
  const json = readJson(path) as { auths?: Record<string, { auth?: unknown; identitytoken?: unknown }> } | undefined;
  return Object.entries(json?.auths ?? {}).flatMap(([registry, entry]) => {
    const secret =
      typeof entry?.identitytoken === 'string'
        ? entry.identitytoken
        : typeof entry?.auth === 'string'
          ? entry.auth
          : undefined;
    if (!secret) {
      return [];
    }
    const c = classify(ctx, [registry]);
    return [
      {
        provider: 'generic' as const,
        kind: 'docker-registry-auth',
        location: `${tilde(ctx.home, path)} auths ${registry}`,
        fingerprint: scanFingerprint(secret),
        production: c.production,
        reason: `registry push access can change what production runs; ${c.reason}`,
        fix: `\`docker logout ${registry}\` and use a credential helper (credsStore) with short-lived tokens`,
      },
    ];
  });
}

function scanNetrc(ctx: ScanContext): Finding[] {
  const path = ctx.env.NETRC || join(ctx.home, '.netrc');
  const tokens = (readText(path) ?? '').split(/\s+/).filter(Boolean);
  const findings: Finding[] = [];
  let machine = 'default';
  for (let i = 0; i < tokens.length; i += 1) {
    if (tokens[i] === 'machine') {
      machine = tokens[i + 1] ?? machine;
    } else if (tokens[i] === 'password' && tokens[i + 1]) {
      const c = classify(ctx, [machine]);
      findings.push({
        provider: 'generic',
        kind: 'netrc-password',
        location: `${tilde(ctx.home, path)} machine ${machine}`,
        fingerprint: scanFingerprint(tokens[i + 1]),
        production: c.production,
        reason: c.reason,
        fix: `remove the password for ${machine} from ${tilde(ctx.home, path)}; use a short-lived token`,
      });
    }
  }
  return findings;
}

function scanNpm(ctx: ScanContext): Finding[] {
  const files = [ctx.env.NPM_CONFIG_USERCONFIG || join(ctx.home, '.npmrc'), join(ctx.cwd, '.npmrc')];
  return [...new Set(files)].flatMap((path) =>
    (readText(path) ?? '').split(/\r?\n/).flatMap((line, index) => {
      const m = /^\s*(\S*?):?_(authToken|auth|password)\s*=\s*(.+?)\s*$/.exec(line);
      if (!m || /^\$\{/.test(m[3])) {
        return [];
      }
      const c = classify(ctx, [m[1]]);
      return [
        {
          provider: 'generic' as const,
          kind: 'npm-token',
          location: `${tilde(ctx.home, path)}:${index + 1} ${m[1] || '(default registry)'}`,
          fingerprint: scanFingerprint(m[3]),
          production: c.production,
          reason: `a publish token can ship code to everyone who installs it; ${c.reason}`,
          fix: `\`npm logout\`; publish from CI with provenance (trusted publishing) instead of a standing token`,
        },
      ];
    }),
  );
}

function scanGh(ctx: ScanContext): Finding[] {
  const dir = ctx.env.GH_CONFIG_DIR || join(ctx.env.XDG_CONFIG_HOME || join(ctx.home, '.config'), 'gh');
  const path = join(dir, 'hosts.yml');
  let hosts: Record<string, { oauth_token?: unknown; users?: Record<string, { oauth_token?: unknown }> }> = {};
  try {
    hosts = (parse(readText(path) ?? '') ?? {}) as typeof hosts;
  } catch {
    return [];
  }
  return Object.entries(hosts).flatMap(([host, entry]) => {
    const tokens = [entry?.oauth_token, ...Object.values(entry?.users ?? {}).map((u) => u?.oauth_token)].filter(
      (t): t is string => typeof t === 'string' && t.length > 0,
    );
    return [...new Set(tokens)].map((token) => ({
      provider: 'generic' as const,
      kind: 'github-cli-token',
      location: `${tilde(ctx.home, path)} ${host}`,
      fingerprint: scanFingerprint(token),
      production: false,
      reason: 'a GitHub CLI token acts as you on every repository you can reach',
      fix: '`gh auth logout`; give agents a fine-grained token per task, or the keyring (`gh auth login --secure-storage`)',
    }));
  });
}

function scanAzure(ctx: ScanContext): Finding[] {
  const dir = ctx.env.AZURE_CONFIG_DIR || join(ctx.home, '.azure');
  return ['msal_token_cache.json', 'accessTokens.json', 'service_principal_entries.json']
    .map((name) => join(dir, name))
    .filter(exists)
    .map((path) => {
      const c = classify(ctx, []);
      const { role, env } = suggestRole(ctx, 'azure', undefined);
      return {
        provider: 'azure' as const,
        kind: 'azure-cli-token-cache',
        location: tilde(ctx.home, path),
        fingerprint: scanFingerprint(readText(path) ?? ''),
        production: c.production,
        reason: 'the Azure CLI keeps refresh tokens or service-principal secrets here',
        fix: `\`az logout\` on machines that run agents${role === 'ROLE' ? '' : ` (Leash role ${role}@${env})`}`,
      };
    });
}
