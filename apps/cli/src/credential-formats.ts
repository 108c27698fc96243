import type { LeaseView } from '@leash/contracts';
import { Exit, ExitError } from './cli-errors';

export const OUTPUT_FORMATS = ['json', 'env', 'aws-credential-process', 'gcp-executable'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface IssuedCredential {
  lease: LeaseView;
  credential: Record<string, string>;
}

export function isOutputFormat(value: string): value is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(value);
}

const pick = (credential: Record<string, string>, ...names: string[]): string | undefined => {
  const lower = new Map(Object.entries(credential).map(([k, v]) => [k.toLowerCase(), v]));
  for (const name of names) {
    const value = lower.get(name.toLowerCase());
    if (value) {
      return value;
    }
  }
  return undefined;
};

const envName = (key: string): string =>
  key
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .replace(/[^A-Z0-9_]/g, '_');

const shellQuote = (v: string): string => `'${v.replace(/'/g, "'\\''")}'`;

/** The AWS `credential_process` document (Version 1); only for credentials of an aws role. */
export function awsCredentialProcess(issued: IssuedCredential): Record<string, string | number> {
  const accessKeyId = pick(issued.credential, 'accessKeyId');
  const secretAccessKey = pick(issued.credential, 'secretAccessKey');
  if (!accessKeyId || !secretAccessKey) {
    throw new ExitError(
      Exit.Usage,
      `role ${issued.lease.role} issues a ${issued.lease.provider} credential, not AWS keys; use --format json or env`,
    );
  }
  const sessionToken = pick(issued.credential, 'sessionToken');
  const accountId = pick(issued.credential, 'accountId');
  const expiration = pick(issued.credential, 'expiration') ?? issued.lease.expiresAt;
  return {
    Version: 1,
    AccessKeyId: accessKeyId,
    SecretAccessKey: secretAccessKey,
    ...(sessionToken ? { SessionToken: sessionToken } : {}),
    Expiration: new Date(expiration).toISOString(),
    ...(accountId ? { AccountId: accountId } : {}),
  };
}

/**
 * Google's executable-sourced credential response: a subject token (a JWT, e.g. the Leash-signed token
 * of a jwt role) that Google STS exchanges through workload identity federation.
 */
export function gcpExecutable(issued: IssuedCredential): Record<string, string | number | boolean> {
  const token = pick(issued.credential, 'idToken', 'token');
  if (!token || token.split('.').length !== 3) {
    throw new ExitError(
      Exit.Usage,
      `role ${issued.lease.role} issues no JWT subject token (${issued.lease.provider}); gcp-token needs a jwt role federated with Google workload identity`,
    );
  }
  return {
    version: 1,
    success: true,
    token_type: 'urn:ietf:params:oauth:token-type:jwt',
    id_token: token,
    expiration_time: Math.floor(Date.parse(issued.lease.expiresAt) / 1000),
  };
}

/** The failure document of the executable-sourced format. */
export function gcpExecutableError(exitCode: number, message: string): Record<string, string | number | boolean> {
  return { version: 1, success: false, code: String(exitCode), message };
}

export function formatCredential(issued: IssuedCredential, format: OutputFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(issued, null, 2)}\n`;
    case 'env': {
      const lines = Object.entries(issued.credential).map(
        ([k, v]) => `export LEASH_CRED_${envName(k)}=${shellQuote(v)}`,
      );
      lines.push(
        `export LEASH_LEASE_ID=${shellQuote(issued.lease.id)}`,
        `export LEASH_LEASE_EXPIRES_AT=${shellQuote(issued.lease.expiresAt)}`,
      );
      return `${lines.join('\n')}\n`;
    }
    case 'aws-credential-process':
      return `${JSON.stringify(awsCredentialProcess(issued))}\n`;
    case 'gcp-executable':
      return `${JSON.stringify(gcpExecutable(issued))}\n`;
  }
}
