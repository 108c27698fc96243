import { createHash } from 'node:crypto';

/** A non-reversible reference to a secret: its last 4 characters and a truncated SHA-256. */
export interface SecretFingerprint {
  last4: string;
  sha256: string;
}

export function fingerprintSecret(secret: string): SecretFingerprint {
  return {
    last4: secret.slice(-4),
    sha256: createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 16),
  };
}

export function formatFingerprint(fp: SecretFingerprint): string {
  return `…${fp.last4} sha256:${fp.sha256}`;
}
