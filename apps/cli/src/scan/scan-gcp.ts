import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { classify, scanFingerprint, suggestRole, type Finding, type ScanContext } from './finding';
import { isLeashCommand } from './scan-aws';
import { exists, listDir, parseIni, readJson, readText, tilde } from './scan-files';

type Obj = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** GCP: application-default credentials, service-account key files, the gcloud credential store. */
export function scanGcp(ctx: ScanContext): Finding[] {
  const findings: Finding[] = [];
  const gcloudDir = ctx.env.CLOUDSDK_CONFIG || join(ctx.home, '.config', 'gcloud');
  const projects = gcloudProjects(gcloudDir);
  const seen = new Set<string>();
  const credentialFile = (path: string, via: string): void => {
    if (seen.has(path)) {
      return;
    }
    seen.add(path);
    const finding = classifyCredentialFile(ctx, path, via, projects);
    if (finding) {
      findings.push(finding);
    }
  };
  if (ctx.env.GOOGLE_APPLICATION_CREDENTIALS) {
    credentialFile(ctx.env.GOOGLE_APPLICATION_CREDENTIALS, 'GOOGLE_APPLICATION_CREDENTIALS');
  }
  credentialFile(join(gcloudDir, 'application_default_credentials.json'), 'application default credentials');
  for (const dir of listDir(join(gcloudDir, 'legacy_credentials'))) {
    credentialFile(join(dir, 'adc.json'), 'gcloud legacy credentials');
  }
  for (const store of ['credentials.db', 'access_tokens.db']) {
    const path = join(gcloudDir, store);
    if (!exists(path)) {
      continue;
    }
    const c = classify(ctx, projects);
    const { role, env } = suggestRole(ctx, 'gcp', c.environment);
    findings.push({
      provider: 'gcp',
      kind: store === 'credentials.db' ? 'gcp-gcloud-credential-store' : 'gcp-gcloud-access-tokens',
      location: tilde(ctx.home, path),
      // The store is a database of refresh tokens: fingerprint its content, never read a token out.
      fingerprint: `sha256:${createHash('sha256')
        .update(readText(path) ?? '')
        .digest('hex')
        .slice(0, 16)}`,
      production: c.production,
      reason: `gcloud keeps user refresh tokens here (\`gcloud auth list\`); ${c.reason}`,
      fix: `\`gcloud auth revoke --all\` on machines that run agents; use \`leash gcp-token ${role} --env ${env}\` through an external-account credential (leash run writes one)`,
    });
  }
  return findings;
}

function classifyCredentialFile(ctx: ScanContext, path: string, via: string, projects: string[]): Finding | undefined {
  const json = readJson(path) as Obj | undefined;
  if (!json || typeof json !== 'object') {
    return undefined;
  }
  const type = str(json.type);
  const location = `${tilde(ctx.home, path)} (${via})`;
  const names = [str(json.project_id), str(json.quota_project_id), str(json.client_email), ...projects];
  const c = classify(ctx, names);
  const { role, env } = suggestRole(ctx, 'gcp', c.environment);
  const instead = `use \`leash gcp-token ${role} --env ${env}\` through an external-account credential (leash run writes one)`;
  if (type === 'service_account' && str(json.private_key)) {
    return {
      provider: 'gcp',
      kind: 'gcp-service-account-key',
      location,
      fingerprint: scanFingerprint(json.private_key as string),
      // A key file never expires: unknown reach counts as production.
      production: c.decided ? c.production : true,
      reason: c.decided
        ? c.reason
        : 'a service-account key never expires and its reach is unknown: treated as production',
      fix: `delete the key in IAM (\`gcloud iam service-accounts keys delete\`) and the file; ${instead}`,
    };
  }
  if (type === 'authorized_user' && str(json.refresh_token)) {
    return {
      provider: 'gcp',
      kind: 'gcp-user-refresh-token',
      location,
      fingerprint: scanFingerprint(json.refresh_token as string),
      production: c.production,
      reason: `a user refresh token acts with all of the user's Google Cloud access; ${c.reason}`,
      fix: `\`gcloud auth application-default revoke\`; ${instead}`,
    };
  }
  if (type === 'external_account') {
    const source = json.credential_source as { executable?: { command?: unknown }; file?: unknown } | undefined;
    const command = str(source?.executable?.command);
    if (command && isLeashCommand(command)) {
      return undefined;
    }
    return {
      provider: 'gcp',
      kind: 'gcp-external-account',
      location,
      fingerprint: scanFingerprint(JSON.stringify(source ?? {})),
      production: c.production,
      reason: `workload identity federation with a source other than Leash; ${c.reason}`,
      fix: instead,
    };
  }
  return undefined;
}

/** Projects named in gcloud configurations (`configurations/config_*`), for classification only. */
function gcloudProjects(dir: string): string[] {
  return listDir(join(dir, 'configurations'))
    .map((file) =>
      parseIni(readText(file) ?? '')
        .get('core')
        ?.get('project'),
    )
    .filter((p): p is string => p !== undefined);
}
