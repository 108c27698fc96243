import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * Generates identifiers. Ids are lowercase base32 so they are valid in AWS RoleSessionName /
 * SourceIdentity ([\w+=,.@-]) and in Kubernetes object names (DNS-1123 labels).
 */
export interface IdGenerator {
  requestId(): string;
  leaseId(): string;
  eventId(): string;
}

export const ID_GENERATOR = Symbol('IdGenerator');

export function randomBase32(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i += 1) {
    out += ALPHABET[bytes[i] & 31];
  }
  return out;
}

export class RandomIdGenerator implements IdGenerator {
  requestId(): string {
    return `req-${randomBase32(20)}`;
  }
  leaseId(): string {
    return `lease-${randomBase32(20)}`;
  }
  eventId(): string {
    return `evt-${randomBase32(20)}`;
  }
}

export const ID_PATTERN = /^(req|lease)-[a-z2-7]{20}$/;
