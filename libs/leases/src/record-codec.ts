import type { AccessRequest, Lease, LeaseState } from '@leash/core';

/**
 * Compact Redis encoding of lease and request records: one hash field per property under a short
 * name, each value small, so Redis keeps the hash in its listpack encoding (values ≤ 64 bytes by
 * default) instead of a hash table around one JSON blob: less than half the memory per lease.
 * Records written before (a `data` field holding JSON) are still read as they are.
 */
type Kind = 'str' | 'num' | 'json';

const LEASE_FIELDS: [keyof Omit<Lease, 'state' | 'attempts'>, string, Kind][] = [
  ['requestId', 'r', 'str'],
  ['role', 'ro', 'str'],
  ['environment', 'e', 'str'],
  ['provider', 'p', 'str'],
  ['principal', 'pr', 'str'],
  ['issuer', 'i', 'str'],
  ['owner', 'o', 'str'],
  ['sessionId', 's', 'str'],
  ['issuedAt', 'ia', 'num'],
  ['expiresAt', 'ea', 'num'],
  ['providerRef', 'ref', 'json'],
];

/** Written and changed by the lease scripts under their own names. */
const LEASE_SCRIPT_FIELDS = new Set<string>(['id', 'state', 'attempts', 'revokedAt', 'revokeReason', 'lastError']);

// Lua-managed request fields keep their names (the scripts read and write them).
const REQUEST_SCRIPT_FIELDS = ['decidedAt', 'leaseId', 'denial', 'ttlSeconds', 'narrowed', 'closedReason'] as const;
const REQUEST_FIELDS: [keyof AccessRequest, string, Kind][] = [
  ['role', 'ro', 'str'],
  ['environment', 'e', 'str'],
  ['reason', 'rs', 'str'],
  ['principal', 'pr', 'str'],
  ['issuer', 'i', 'str'],
  ['owner', 'o', 'str'],
  ['session', 'ss', 'json'],
  ['context', 'cx', 'json'],
  ['decision', 'dc', 'str'],
  ['approval', 'ap', 'json'],
  ['provider', 'p', 'str'],
  ['risk', 'rk', 'json'],
  ['policyVersion', 'pv', 'str'],
  ['createdAt', 'ca', 'num'],
  ['principalGroups', 'pg', 'json'],
  ['principalEmail', 'pe', 'str'],
  ['decisionReasons', 'dr', 'json'],
  ['scope', 'sc', 'json'],
  ['roleFingerprint', 'rf', 'str'],
];

function put(out: string[], name: string, kind: Kind, value: unknown): void {
  if (value === undefined) {
    return;
  }
  const text =
    kind !== 'json' && typeof value === 'string'
      ? value
      : kind !== 'json' && typeof value === 'number'
        ? String(value)
        : JSON.stringify(value);
  out.push(name, text);
}

function take(hash: Record<string, string>, name: string, kind: Kind): unknown {
  const raw = hash[name];
  if (raw === undefined) {
    return undefined;
  }
  return kind === 'json' ? JSON.parse(raw) : kind === 'num' ? Number(raw) : raw;
}

/** Field/value pairs of a lease's properties (state and counters are the scripts'); anything unknown goes to `x`. */
export function packLease(lease: Omit<Lease, 'state' | 'attempts'>): string[] {
  const out: string[] = [];
  const known = new Set<string>(LEASE_SCRIPT_FIELDS);
  for (const [prop, name, kind] of LEASE_FIELDS) {
    put(out, name, kind, lease[prop]);
    known.add(prop);
  }
  out.push('fl', lease.fingerprint.last4, 'fs', lease.fingerprint.sha256);
  known.add('fingerprint');
  const rest = Object.fromEntries(Object.entries(lease).filter(([k]) => !known.has(k)));
  if (Object.keys(rest).length > 0) {
    out.push('x', JSON.stringify(rest));
  }
  return out;
}

export function unpackLease(id: string, hash: Record<string, string>): Lease | undefined {
  let data: Omit<Lease, 'state' | 'attempts'>;
  if (hash.data) {
    data = JSON.parse(hash.data) as Omit<Lease, 'state' | 'attempts'>;
  } else if (hash.r) {
    const props: Record<string, unknown> = { id };
    for (const [prop, name, kind] of LEASE_FIELDS) {
      const value = take(hash, name, kind);
      if (value !== undefined) {
        props[prop] = value;
      }
    }
    props.fingerprint = { last4: hash.fl, sha256: hash.fs };
    data = { ...(hash.x ? (JSON.parse(hash.x) as object) : {}), ...props } as Omit<Lease, 'state' | 'attempts'>;
  } else {
    return undefined;
  }
  return {
    ...data,
    state: hash.state as LeaseState,
    attempts: Number(hash.attempts ?? 0),
    ...(hash.revokedAt ? { revokedAt: Number(hash.revokedAt) } : {}),
    ...(hash.revokeReason ? { revokeReason: hash.revokeReason } : {}),
    ...(hash.lastError ? { lastError: hash.lastError } : {}),
  };
}

/** Field/value pairs of a new request (state, expiresAt and digest included). */
export function packRequest(r: AccessRequest): Record<string, string> {
  const out: string[] = ['state', r.state, 'expiresAt', String(r.expiresAt), 'digest', r.digest];
  const known = new Set<string>(['id', 'state', 'expiresAt', 'digest']);
  for (const [prop, name, kind] of REQUEST_FIELDS) {
    put(out, name, kind, r[prop]);
    known.add(prop);
  }
  for (const prop of REQUEST_SCRIPT_FIELDS) {
    const value = r[prop];
    put(out, prop, typeof value === 'object' ? 'json' : 'str', value);
    known.add(prop);
  }
  const rest = Object.fromEntries(Object.entries(r).filter(([k]) => !known.has(k)));
  if (Object.keys(rest).length > 0) {
    out.push('x', JSON.stringify(rest));
  }
  const hash: Record<string, string> = {};
  for (let i = 0; i < out.length; i += 2) {
    hash[out[i]] = out[i + 1];
  }
  return hash;
}

export function unpackRequest(id: string, hash: Record<string, string>): AccessRequest | undefined {
  let base: Record<string, unknown>;
  if (hash.data) {
    base = JSON.parse(hash.data) as Record<string, unknown>;
  } else if (hash.ca) {
    base = { ...(hash.x ? (JSON.parse(hash.x) as object) : {}), id };
    for (const [prop, name, kind] of REQUEST_FIELDS) {
      const value = take(hash, name, kind);
      if (value !== undefined) {
        base[prop] = value;
      }
    }
  } else {
    return undefined;
  }
  return {
    ...(base as Omit<AccessRequest, 'state' | 'expiresAt' | 'digest'>),
    state: hash.state as AccessRequest['state'],
    expiresAt: Number(hash.expiresAt),
    digest: hash.digest,
    ...(hash.decidedAt ? { decidedAt: Number(hash.decidedAt) } : {}),
    ...(hash.leaseId ? { leaseId: hash.leaseId } : {}),
    ...(hash.denial ? { denial: JSON.parse(hash.denial) as AccessRequest['denial'] } : {}),
    ...(hash.ttlSeconds ? { ttlSeconds: Number(hash.ttlSeconds) } : {}),
    ...(hash.narrowed ? { narrowed: JSON.parse(hash.narrowed) as AccessRequest['narrowed'] } : {}),
    ...(hash.closedReason ? { closedReason: hash.closedReason } : {}),
  };
}
