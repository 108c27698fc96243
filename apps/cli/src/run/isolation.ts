import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { RequestableRole } from '@leash/contracts';
import { TOKEN_VARIABLES } from '../scan/scan-generic';

/** AWS variables that configure tools without granting anything; every other AWS_* variable is dropped. */
const AWS_KEEP =
  /^AWS_(REGION|DEFAULT_REGION|ENDPOINT_URL(_[A-Z0-9_]+)?|CA_BUNDLE|PAGER|DEFAULT_OUTPUT|RETRY_MODE|MAX_ATTEMPTS|SDK_[A-Z0-9_]+|USE_FIPS_ENDPOINT|USE_DUALSTACK_ENDPOINT|STS_REGIONAL_ENDPOINTS|CLI_[A-Z0-9_]+)$/;

/** Credential variables of GCP, Azure and Kubernetes (and anything pointing their tools elsewhere). */
const DROPPED = new Set([
  'GOOGLE_APPLICATION_CREDENTIALS',
  'GOOGLE_CREDENTIALS',
  'GOOGLE_CLOUD_KEYFILE_JSON',
  'GCLOUD_KEYFILE_JSON',
  'GOOGLE_OAUTH_ACCESS_TOKEN',
  'GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES',
  'CLOUDSDK_CONFIG',
  'AZURE_CLIENT_SECRET',
  'AZURE_CLIENT_CERTIFICATE_PATH',
  'AZURE_CLIENT_CERTIFICATE_PASSWORD',
  'AZURE_USERNAME',
  'AZURE_PASSWORD',
  'AZURE_FEDERATED_TOKEN_FILE',
  'AZURE_STORAGE_KEY',
  'AZURE_STORAGE_CONNECTION_STRING',
  'AZURE_STORAGE_SAS_TOKEN',
  'AZURE_CONFIG_DIR',
  'ARM_CLIENT_SECRET',
  'ARM_CLIENT_CERTIFICATE_PASSWORD',
  'ARM_ACCESS_KEY',
  'ARM_SAS_TOKEN',
  'KUBECONFIG',
  'KUBERNETES_SERVICE_HOST',
  'KUBERNETES_SERVICE_PORT',
  'LEASH_TOKEN',
  ...TOKEN_VARIABLES,
]);
const DROPPED_PREFIXES = ['CLOUDSDK_AUTH_'];

export function isCredentialVariable(name: string): boolean {
  if (name.startsWith('AWS_')) {
    return !AWS_KEEP.test(name);
  }
  return DROPPED.has(name) || DROPPED_PREFIXES.some((p) => name.startsWith(p));
}

/** How the agent's tools run the Leash helpers: this very CLI (node and its script). */
export interface LeashInvocation {
  command: string;
  args: string[];
}

export interface IsolatedSession {
  /** The agent's environment. */
  env: Record<string, string>;
  /** Variables removed (names only). */
  dropped: string[];
  /** AWS profiles and kube contexts written, as ROLE@ENV. */
  awsProfiles: string[];
  kubeContexts: string[];
  /** Roles that could not be prepared, with why. */
  notes: string[];
}

/** A GCP workload identity federation target for executable-sourced credentials (CLI config `gcp`). */
export interface GcpFederation {
  audience: string;
  role: string;
  environment: string;
  tokenUrl?: string;
  serviceAccountImpersonationUrl?: string;
}

/** Quotes for botocore's credential_process (shlex) and POSIX shells. */
const shq = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/**
 * The agent's environment without standing credentials, and tool configuration in `dir` (the
 * session's private 0700 runtime directory, removed with it) that reaches credentials only through
 * Leash: one AWS profile and one kube context per requestable `ROLE@ENV`, gcloud without accounts.
 */
export function isolateSession(
  base: NodeJS.ProcessEnv,
  dir: string,
  roles: RequestableRole[],
  leash: LeashInvocation,
  gcp?: GcpFederation,
): IsolatedSession {
  const env: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(base)) {
    if (value === undefined) {
      continue;
    }
    if (isCredentialVariable(name)) {
      dropped.push(name);
    } else {
      env[name] = value;
    }
  }
  const notes: string[] = [];
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    chmodSync(path, 0o600);
    return path;
  };
  const helper = (...args: string[]): string[] => [leash.command, ...leash.args, ...args];

  // AWS: one profile per role@env; the first is also the default, so plain `aws ...` goes through Leash.
  const awsPairs = roles.filter((r) => r.provider === 'aws').flatMap((r) => r.environments.map((e) => ({ r, e })));
  const profile = ({ r, e }: { r: RequestableRole; e: string }): string =>
    [
      `credential_process = ${helper('credential-process', r.id, '--env', e).map(shq).join(' ')}`,
      ...(r.target?.region ? [`region = ${r.target.region}`] : []),
    ].join('\n');
  const awsConfig = [
    '# Written by leash run for this session; removed when it ends. Every profile asks Leash.',
    ...(awsPairs[0] ? [`[default]\n${profile(awsPairs[0])}`] : []),
    ...awsPairs.map((p) => `[profile ${p.r.id}@${p.e}]\n${profile(p)}`),
  ].join('\n\n');
  env.AWS_CONFIG_FILE = file('aws-config', `${awsConfig}\n`);
  env.AWS_SHARED_CREDENTIALS_FILE = file('aws-credentials', '');
  // Instance metadata is standing access too (on EC2 runners); SDKs skip it with this.
  env.AWS_EC2_METADATA_DISABLED = 'true';

  // Kubernetes: one context per role@env whose API server the broker described.
  const kubePairs = roles
    .filter((r) => r.provider === 'kubernetes')
    .flatMap((r) => {
      if (!r.target?.server) {
        notes.push(`kubernetes role ${r.id}: the broker did not say which API server it targets; no context written`);
        return [];
      }
      return r.environments.map((e) => ({ r, e, name: `${r.id}@${e}` }));
    });
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: kubePairs.map(({ r, name }) => ({
      name,
      cluster: {
        server: r.target?.server,
        ...(r.target?.certificateAuthorityData
          ? { 'certificate-authority-data': r.target.certificateAuthorityData }
          : {}),
      },
    })),
    users: kubePairs.map(({ r, e, name }) => {
      const [command, ...args] = helper('kube-exec', r.id, '--env', e);
      return {
        name,
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command,
            args,
            interactiveMode: 'Never',
            provideClusterInfo: false,
          },
        },
      };
    }),
    contexts: kubePairs.map(({ r, name }) => ({
      name,
      context: { cluster: name, user: name, ...(r.target?.namespace ? { namespace: r.target.namespace } : {}) },
    })),
    ...(kubePairs[0] ? { 'current-context': kubePairs[0].name } : {}),
    preferences: {},
  };
  env.KUBECONFIG = file('kubeconfig', stringify(kubeconfig));

  // GCP: gcloud gets an empty configuration; ADC gets Leash's executable-sourced credential, or a
  // file that does not exist (an explicit error, never the user's ~/.config/gcloud fallback).
  const gcloud = join(dir, 'gcloud');
  mkdirSync(gcloud, { mode: 0o700, recursive: true });
  env.CLOUDSDK_CONFIG = gcloud;
  env.GOOGLE_APPLICATION_CREDENTIALS = join(dir, 'gcp-credentials.json');
  if (gcp) {
    file(
      'gcp-credentials.json',
      JSON.stringify({
        type: 'external_account',
        audience: gcp.audience,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        token_url: gcp.tokenUrl ?? 'https://sts.googleapis.com/v1/token',
        ...(gcp.serviceAccountImpersonationUrl
          ? { service_account_impersonation_url: gcp.serviceAccountImpersonationUrl }
          : {}),
        credential_source: {
          executable: {
            command: helper('gcp-token', gcp.role, '--env', gcp.environment).map(shq).join(' '),
            timeout_millis: 120000,
          },
        },
      }),
    );
    env.GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES = '1';
  }
  // Azure CLI: an empty configuration directory (no cached tokens).
  const azure = join(dir, 'azure');
  mkdirSync(azure, { mode: 0o700, recursive: true });
  env.AZURE_CONFIG_DIR = azure;

  return {
    env,
    dropped: dropped.sort(),
    awsProfiles: awsPairs.map((p) => `${p.r.id}@${p.e}`),
    kubeContexts: kubePairs.map((p) => p.name),
    notes,
  };
}
