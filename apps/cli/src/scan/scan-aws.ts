import { basename, join } from 'node:path';
import { classify, scanFingerprint, suggestRole, type Classification, type Finding, type ScanContext } from './finding';
import { listDir, parseIni, readJson, readText, tilde } from './scan-files';

/** A credential_process that goes through Leash (the only kind that is not standing). */
export function isLeashCommand(command: string): boolean {
  return /(^|[\s/"'])leash(\.js)?["']?\s+(credential-process|kube-exec|gcp-token)\b/.test(command);
}

/** A long-lived key that names no known environment counts as production until shown otherwise. */
function reach(c: Classification, longLived: boolean): { production: boolean; reason: string } {
  if (c.decided || !longLived) {
    return { production: c.production, reason: c.reason };
  }
  return { production: true, reason: 'a long-lived key whose names say nothing of its reach: treated as production' };
}

function awsFix(ctx: ScanContext, environment: string | undefined, what: string): string {
  const { role, env } = suggestRole(ctx, 'aws', environment);
  return (
    `${what}; use a profile with \`credential_process = leash credential-process ${role} --env ${env}\` ` +
    `(or run the agent under \`leash run\`, which provides profile ${role}@${env})`
  );
}

/** AWS: credential variables, static keys in credentials and config, SSO and CLI caches, foreign credential_process. */
export function scanAws(ctx: ScanContext): Finding[] {
  const findings: Finding[] = [];
  const { env, home } = ctx;
  if (env.AWS_SECRET_ACCESS_KEY) {
    const c = classify(ctx, [env.AWS_PROFILE, 'environment']);
    findings.push({
      provider: 'aws',
      kind: env.AWS_SESSION_TOKEN ? 'aws-env-session-credentials' : 'aws-env-static-key',
      location: 'environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY',
      fingerprint: scanFingerprint(env.AWS_SECRET_ACCESS_KEY),
      ...reach(c, !env.AWS_SESSION_TOKEN),
      fix: awsFix(ctx, c.environment, 'unset the variables (shell profile, CI secrets) and deactivate the key in IAM'),
    });
  }
  const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials');
  const configFile = env.AWS_CONFIG_FILE || join(home, '.aws', 'config');
  for (const [file, isConfig] of [
    [credentialsFile, false],
    [configFile, true],
  ] as const) {
    const text = readText(file);
    if (text === undefined) {
      continue;
    }
    for (const [section, values] of parseIni(text)) {
      const profile = isConfig ? section.replace(/^profile\s+/, '') : section;
      if (isConfig && /^(sso-session|services)\s/.test(section)) {
        continue;
      }
      const where = `${tilde(home, file)} [${section}]`;
      const c = classify(ctx, [
        profile,
        values.get('role_arn'),
        values.get('sso_account_id'),
        values.get('sso_role_name'),
      ]);
      const secret = values.get('aws_secret_access_key');
      if (secret) {
        const temporary = values.has('aws_session_token');
        findings.push({
          provider: 'aws',
          kind: temporary ? 'aws-session-credentials' : 'aws-static-key',
          location: where,
          fingerprint: scanFingerprint(secret),
          ...reach(c, !temporary),
          fix: awsFix(
            ctx,
            c.environment,
            `delete profile ${profile} from ${tilde(home, file)} and deactivate the key in IAM`,
          ),
        });
      }
      const process = values.get('credential_process');
      if (process && !isLeashCommand(process)) {
        findings.push({
          provider: 'aws',
          kind: 'aws-credential-process',
          location: where,
          fingerprint: scanFingerprint(process),
          production: c.production,
          reason: c.reason,
          fix: awsFix(ctx, c.environment, `replace the credential_process of profile ${profile}`),
        });
      }
      if (values.has('sso_start_url') || values.has('sso_session')) {
        findings.push({
          provider: 'aws',
          kind: 'aws-sso-profile',
          location: where,
          fingerprint: scanFingerprint(`${values.get('sso_account_id') ?? ''}/${values.get('sso_role_name') ?? ''}`),
          production: c.production,
          reason: c.reason,
          fix: awsFix(
            ctx,
            c.environment,
            `remove SSO profile ${profile} from machines that run agents (\`aws sso logout\`)`,
          ),
        });
      }
    }
  }
  findings.push(...scanAwsCaches(ctx));
  return findings;
}

function scanAwsCaches(ctx: ScanContext): Finding[] {
  const findings: Finding[] = [];
  const now = Date.now();
  for (const file of listDir(join(ctx.home, '.aws', 'sso', 'cache'))) {
    const json = readJson(file) as
      { accessToken?: unknown; refreshToken?: unknown; expiresAt?: unknown; startUrl?: unknown } | undefined;
    if (typeof json?.accessToken !== 'string') {
      continue;
    }
    const live = typeof json.refreshToken === 'string' || Date.parse(String(json.expiresAt)) > now;
    if (!live) {
      continue;
    }
    const c = classify(ctx, [typeof json.startUrl === 'string' ? json.startUrl : undefined, basename(file)]);
    findings.push({
      provider: 'aws',
      kind: typeof json.refreshToken === 'string' ? 'aws-sso-refresh-token' : 'aws-sso-token',
      location: tilde(ctx.home, file),
      fingerprint: scanFingerprint(typeof json.refreshToken === 'string' ? json.refreshToken : json.accessToken),
      production: c.production,
      reason: `an SSO session can mint role credentials for every account it is assigned; ${c.reason}`,
      fix: awsFix(ctx, c.environment, '`aws sso logout` on machines that run agents'),
    });
  }
  for (const file of listDir(join(ctx.home, '.aws', 'cli', 'cache'))) {
    const json = readJson(file) as { Credentials?: { SecretAccessKey?: unknown; Expiration?: unknown } } | undefined;
    const secret = json?.Credentials?.SecretAccessKey;
    if (typeof secret !== 'string' || !(Date.parse(String(json?.Credentials?.Expiration)) > now)) {
      continue;
    }
    findings.push({
      provider: 'aws',
      kind: 'aws-cli-cached-credentials',
      location: tilde(ctx.home, file),
      fingerprint: scanFingerprint(secret),
      production: false,
      reason: 'temporary role credentials cached by the AWS CLI (valid until they expire)',
      fix: awsFix(ctx, undefined, `delete ${tilde(ctx.home, file)}`),
    });
  }
  return findings;
}
