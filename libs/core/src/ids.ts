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

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

/**
 * Random bytes taken from a pool filled by the CSPRNG 4 KiB at a time, each byte handed out once (what Node does
 * for randomUUID): one getrandom call per 200 ids instead of one per id, which was 1 % of the API's CPU under
 * the issuance load (bench/RESULTS.md).
 */
function pooledRandom(length: number): Buffer {
  if (length > POOL_BYTES) {
    return randomBytes(length);
  }
  if (used + length > pool.length) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  const bytes = pool.subarray(used, used + length);
  used += length;
  return bytes;
}

export function randomBase32(length: number): string {
  const bytes = pooledRandom(length);
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
