import { createHash } from 'node:crypto';
import type { Lease } from '@leash/core';
import { LeaseError, LeaseErrorCode } from './lease.errors';
import { unpackLease } from './record-codec';

/** How many issuer names a process keeps (the configured identity providers: a handful). */
const CACHE_SIZE = 1000;

/**
 * The id a lease record names its principal's issuer by (`is`): the first 8 base64url characters of the issuer's
 * SHA-256. Derived from the issuer, never assigned in turn, so a write a fail-over lost can never hand an id to
 * another issuer; the claim's script (RECORD_LEASE) adds it to the id → issuer hash in the same step as the lease,
 * so the name exists whenever a lease names it, and stores the issuer itself (`i`) if another issuer holds the id.
 */
export function issuerIdOf(issuer: string): string {
  return createHash('sha256').update(issuer, 'utf8').digest('base64url').slice(0, 8);
}

/**
 * Issuer names of lease records (the id → issuer hash), read once per process: a name never changes once written.
 * `resolve` reads the ones a batch of lease records names that this process has not seen yet (one HMGET).
 */
export class IssuerNames {
  private readonly names = new Map<string, string>();
  private readonly ids = new Map<string, string>();

  constructor(private readonly read: (ids: string[]) => Promise<(string | null)[]>) {}

  /** The id of an issuer (cached: a SHA-256 per issuer, not per lease). */
  idOf(issuer: string): string {
    let id = this.ids.get(issuer);
    if (id === undefined) {
      if (this.ids.size >= CACHE_SIZE) {
        this.ids.clear();
      }
      id = issuerIdOf(issuer);
      this.ids.set(issuer, id);
    }
    return id;
  }

  /**
   * The leases of records read together (undefined where a record is empty): their issuers' names read in one
   * step (resolve), then each record unpacked with them.
   */
  async leases(ids: readonly string[], hashes: readonly Record<string, string>[]): Promise<(Lease | undefined)[]> {
    const names = await this.resolve(hashes);
    return hashes.map((hash, i) => unpackLease(ids[i], hash, names));
  }

  /**
   * The names the records name, for unpackLease. A name missing from Redis (the claim's script writes it with the
   * lease: only a damaged store lacks it) is reported corrupt: a lease is never answered without its issuer.
   */
  async resolve(hashes: readonly (Record<string, string> | undefined)[]): Promise<ReadonlyMap<string, string>> {
    const out = new Map<string, string>();
    const wanted: string[] = [];
    for (const hash of hashes) {
      const id = hash?.is;
      if (id === undefined || out.has(id) || wanted.includes(id)) {
        continue;
      }
      const name = this.names.get(id);
      if (name === undefined) {
        wanted.push(id);
      } else {
        out.set(id, name);
      }
    }
    if (wanted.length > 0) {
      const found = await this.read(wanted);
      if (this.names.size + wanted.length > CACHE_SIZE) {
        this.names.clear();
      }
      wanted.forEach((id, i) => {
        const name = found[i];
        if (typeof name !== 'string') {
          throw new LeaseError(LeaseErrorCode.Corrupt, `a lease names issuer ${id}, whose name is missing`);
        }
        this.names.set(id, name);
        out.set(id, name);
      });
    }
    return out;
  }
}
