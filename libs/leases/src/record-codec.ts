import { createHash } from 'node:crypto';
import { requestDigest, type AccessRequest, type Lease, type LeaseState } from '@leash/core';

/**
 * Compact Redis encoding of lease and request records: one hash field per property under a short
 * name, each value small, so Redis keeps the hash in its listpack encoding (values ≤ 64 bytes by
 * default) instead of a hash table around one JSON blob: less than half the memory per lease.
 * Records written before (a `data` field holding JSON) are still read as they are.
 */
type Kind = 'str' | 'num' | 'json' | 'ref';

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
  ['providerRef', 'ref', 'ref'],
];

/** Written and changed by the lease scripts under their own names. */
const LEASE_SCRIPT_FIELDS = new Set<string>(['id', 'state', 'attempts', 'revokedAt', 'revokeReason', 'lastError']);

// Lua-managed request fields keep their names (the scripts read and write them).
const REQUEST_SCRIPT_FIELDS = ['decidedAt', 'leaseId', 'denial', 'ttlSeconds', 'narrowed', 'closedReason'] as const;
const REQUEST_FIELDS: [keyof AccessRequest, string, Kind][] = [
  ['reason', 'rs', 'str'],
  ['principal', 'pr', 'str'],
  ['owner', 'o', 'str'],
  ['context', 'cx', 'json'],
  ['createdAt', 'ca', 'num'],
  ['principalGroups', 'pg', 'json'],
  ['principalEmail', 'pe', 'str'],
  ['decisionReasons', 'dr', 'json'],
];

/**
 * What many requests have in common: what the policy decided for the role (the same for every request
 * of a role and environment under one policy version) and the requester's identity provider. Kept once
 * in a shared record the request names by its content digest (`sh`), instead of ~240 bytes in every
 * request. Requests written before hold them as fields of their own.
 */
const SHARED_REQUEST_FIELDS: [keyof AccessRequest, string, Kind][] = [
  ['role', 'ro', 'str'],
  ['environment', 'e', 'str'],
  ['provider', 'p', 'str'],
  ['issuer', 'i', 'str'],
  ['approval', 'ap', 'json'],
  ['policyVersion', 'pv', 'str'],
  ['scope', 'sc', 'json'],
  ['roleFingerprint', 'rf', 'str'],
];

/**
 * Redis keeps a hash in its compact listpack encoding only while every value is at most 64 bytes
 * (`hash-max-listpack-value`, default 64); one longer value turns the whole record into a hash table, about
 * twice the memory (an AWS lease's reference and handle, a reason or context of a few sentences). Such values of
 * the fields below (none a script reads) are written in pieces of at most 64 bytes: `name`, `name+1`, `name+2`, ….
 */
const PIECE_BYTES = 64;
/** Longer values stay whole (a hash table, as before): a script's argument list stays short. */
const MAX_PIECED_BYTES = 1024;
const LEASE_PIECED = new Set(['r', 'i', 'o', 's', 'ref', 'x', 'handle']);
const REQUEST_PIECED = new Set(['rs', 'pr', 'o', 'cx', 'pg', 'pe', 'dr', 'rk', 'ss', 'si', 'sn', 'x']);

/** `value` in pieces of at most PIECE_BYTES UTF-8 bytes, never splitting a character. */
function pieces(value: string): string[] {
  if (value.length * 3 <= PIECE_BYTES) {
    return [value];
  }
  const total = Buffer.byteLength(value, 'utf8');
  if (total <= PIECE_BYTES || total > MAX_PIECED_BYTES) {
    return [value];
  }
  const out: string[] = [];
  let piece = '';
  let bytes = 0;
  for (const ch of value) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (bytes + size > PIECE_BYTES) {
      out.push(piece);
      piece = '';
      bytes = 0;
    }
    piece += ch;
    bytes += size;
  }
  out.push(piece);
  return out;
}

/** Field/value pairs with the long values of `pieced` fields written in pieces. */
function splitLong(pairs: string[], pieced: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const [name, value] = [pairs[i], pairs[i + 1]];
    const parts = pieced.has(name) ? pieces(value) : [value];
    out.push(name, parts[0]);
    for (let n = 1; n < parts.length; n += 1) {
      out.push(`${name}+${n}`, parts[n]);
    }
  }
  return out;
}

/** A record's fields with the pieces of long values joined (records without pieces are returned as they are). */
export function joinLong(hash: Record<string, string>): Record<string, string> {
  if (!Object.keys(hash).some((k) => k.endsWith('+1'))) {
    return hash;
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(hash)) {
    if (/\+\d+$/.test(name)) {
      continue;
    }
    let joined = value;
    for (let n = 1; hash[`${name}+${n}`] !== undefined; n += 1) {
      joined += hash[`${name}+${n}`];
    }
    out[name] = joined;
  }
  return out;
}

/** A shared part of requests: its id (a digest of `text`) and its JSON text. */
export interface SharedRequestPart {
  id: string;
  text: string;
}

function put(out: string[], name: string, kind: Kind, value: unknown): void {
  if (value === undefined) {
    return;
  }
  const text =
    kind === 'str' && typeof value === 'string'
      ? value
      : kind === 'num' && typeof value === 'number'
        ? String(value)
        : JSON.stringify(value);
  out.push(name, text);
}

function take(hash: Record<string, string>, name: string, kind: Kind): unknown {
  const raw = hash[name];
  if (raw === undefined) {
    return undefined;
  }
  return kind === 'json' || kind === 'ref' ? JSON.parse(raw) : kind === 'num' ? Number(raw) : raw;
}

/**
 * Provider references mostly repeat the lease id (a JWT's jti): such values are written as null (never
 * a reference's value: they are strings) and read back as the id.
 */
function packRef(id: string, ref: Record<string, string>): Record<string, string | null> {
  return Object.fromEntries(Object.entries(ref).map(([k, v]) => [k, v === id ? null : v]));
}

function unpackRef(id: string, ref: Record<string, string | null>): Record<string, string> {
  return Object.fromEntries(Object.entries(ref).map(([k, v]) => [k, v === null ? id : v]));
}

/**
 * A JWT provider reference (`{jti: <lease id>, kid}`, the lease id written as null under `ref` before) is written as
 * its key id alone (`k`): 24 bytes less of listpack. Any other reference keeps `ref`.
 */
function isJwtRef(id: string, ref: Record<string, string> | undefined): ref is { jti: string; kid: string } {
  if (ref === undefined) {
    return false;
  }
  const keys = Object.keys(ref);
  return keys.length === 2 && keys[0] === 'jti' && keys[1] === 'kid' && ref.jti === id && typeof ref.kid === 'string';
}

/**
 * The revocation handle as the lease record stores it (RECORD_LEASE's `handle`): '' (not stored) when it is the
 * lease id as a JWT's jti (`{jti: <lease id>}`, what the JWT provider hands back, ~40 bytes of every lease),
 * else its JSON. handleOf reads either back, and records of earlier versions (the JSON always stored).
 */
export function packHandle(id: string, handle: Record<string, unknown>): string {
  const keys = Object.keys(handle);
  return keys.length === 1 && keys[0] === 'jti' && handle.jti === id ? '' : JSON.stringify(handle);
}

/** The revocation handle of a lease record (see packHandle). */
export function handleOf(id: string, record: Record<string, string>): Record<string, unknown> {
  const hash = joinLong(record);
  return hash.handle === undefined ? { jti: id } : (JSON.parse(hash.handle) as Record<string, unknown>);
}

/** Decisions under one letter ('a', 'n'); records written before hold the full word, read as it is. */
const DECISION_CODES: Record<string, string> = { auto_approved: 'a', needs_approval: 'n' };
const DECISIONS: Record<string, string> = { a: 'auto_approved', n: 'needs_approval' };

/**
 * An agent session as fields of their own (`si`, `sa`, `sn`: id, agent, host), or JSON (`ss`) if it holds more.
 * The agent (a few names: claude-code, …) goes with the shared part (`shared`).
 */
function packSession(out: string[], shared: string[], session: AccessRequest['session']): void {
  if (session === undefined) {
    return;
  }
  const plain =
    Object.entries(session).every(([k, v]) => ['id', 'agent', 'host'].includes(k) && typeof v === 'string') &&
    typeof session.id === 'string';
  if (!plain) {
    out.push('ss', JSON.stringify(session));
    return;
  }
  out.push('si', session.id);
  if (session.agent !== undefined) {
    shared.push('sa', session.agent);
  }
  if (session.host !== undefined) {
    out.push('sn', session.host);
  }
}

function unpackSession(hash: Record<string, string>): AccessRequest['session'] {
  if (hash.ss !== undefined) {
    return JSON.parse(hash.ss) as AccessRequest['session'];
  }
  if (hash.si === undefined) {
    return undefined;
  }
  return {
    id: hash.si,
    ...(hash.sa !== undefined ? { agent: hash.sa } : {}),
    ...(hash.sn !== undefined ? { host: hash.sn } : {}),
  };
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

/** A risk with nothing found (most auto-approved requests) is written as its level alone (`rl`). */
function isPlainRisk(risk: AccessRequest['risk']): boolean {
  return JSON.stringify(risk) === JSON.stringify({ level: risk.level, reasons: [], findings: [] });
}

/**
 * Field/value pairs of a lease's properties (state and counters are the scripts'); anything unknown goes to `x`.
 * With `handle`, its revocation handle too (packHandle: none when derived), long values in pieces (splitLong).
 */
export function packLease(lease: Omit<Lease, 'state' | 'attempts'>, handle?: Record<string, unknown>): string[] {
  const out: string[] = [];
  const known = new Set<string>(LEASE_SCRIPT_FIELDS);
  for (const [prop, name, kind] of LEASE_FIELDS) {
    known.add(prop);
    if (prop === 'providerRef' && isJwtRef(lease.id, lease.providerRef)) {
      out.push('k', lease.providerRef.kid);
      continue;
    }
    put(
      out,
      name,
      kind,
      prop === 'providerRef' && lease.providerRef ? packRef(lease.id, lease.providerRef) : lease[prop],
    );
  }
  out.push('fl', lease.fingerprint.last4, 'fs', lease.fingerprint.sha256);
  known.add('fingerprint');
  const rest = Object.fromEntries(Object.entries(lease).filter(([k]) => !known.has(k)));
  if (Object.keys(rest).length > 0) {
    out.push('x', JSON.stringify(rest));
  }
  const packedHandle = handle === undefined ? '' : packHandle(lease.id, handle);
  if (packedHandle !== '') {
    out.push('handle', packedHandle);
  }
  return splitLong(out, LEASE_PIECED);
}

/**
 * The lease of a record. `issuers` holds the names of the issuer ids records name (`is`, see IssuerNames.resolve);
 * a record naming an issuer that is not in it is refused, never read without its issuer.
 */
export function unpackLease(
  id: string,
  record: Record<string, string>,
  issuers?: ReadonlyMap<string, string>,
): Lease | undefined {
  const hash = joinLong(record);
  let data: Omit<Lease, 'state' | 'attempts'>;
  if (hash.data) {
    data = JSON.parse(hash.data) as Omit<Lease, 'state' | 'attempts'>;
  } else if (hash.r) {
    const props: Record<string, unknown> = { id };
    for (const [prop, name, kind] of LEASE_FIELDS) {
      const value = take(hash, name, kind);
      if (value !== undefined) {
        props[prop] = kind === 'ref' ? unpackRef(id, value as Record<string, string | null>) : value;
      }
    }
    if (hash.k !== undefined) {
      props.providerRef = { jti: id, kid: hash.k };
    }
    if (hash.is !== undefined) {
      const issuer = issuers?.get(hash.is);
      if (issuer === undefined) {
        // Authorization is on (issuer, subject): a lease is never answered without its issuer.
        throw new Error(`lease ${id} names issuer ${hash.is}: read its name (IssuerNames.resolve) and pass it`);
      }
      props.issuer = issuer;
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

/**
 * Field/value pairs of a new request (state, expiresAt and digest included), and the shared part it
 * names (`sh`), which the caller stores once under its id.
 */
export function packRequest(r: AccessRequest): { fields: Record<string, string>; shared: SharedRequestPart } {
  const out: string[] = ['state', r.state, 'expiresAt', String(r.expiresAt)];
  if (!derivableDigest(r)) {
    out.push('digest', r.digest);
  }
  const known = new Set<string>(['id', 'state', 'expiresAt', 'digest', 'risk', 'session', 'decision']);
  // Values few requests differ in (the decision, a risk with nothing found, an empty context or group list, the
  // agent) go with the shared part: a handful more shared parts per role, ~50 bytes less per request.
  const sharedOut: string[] = [];
  for (const [prop, name, kind] of REQUEST_FIELDS) {
    const value = r[prop];
    const plain =
      (prop === 'context' && isEmptyObject(value)) ||
      (prop === 'principalGroups' && Array.isArray(value) && value.length === 0);
    put(plain ? sharedOut : out, name, kind, value);
    known.add(prop);
  }
  packSession(out, sharedOut, r.session);
  if (r.decision !== undefined) {
    sharedOut.push('dc', DECISION_CODES[r.decision] ?? r.decision);
  }
  if (r.risk !== undefined) {
    if (isPlainRisk(r.risk)) {
      sharedOut.push('rl', r.risk.level);
    } else {
      put(out, 'rk', 'json', r.risk);
    }
  }
  for (const [prop, name, kind] of SHARED_REQUEST_FIELDS) {
    put(sharedOut, name, kind, r[prop]);
    known.add(prop);
  }
  // The TTL the policy granted (a role's default or one of the few clients ask for) goes with the shared part too;
  // a narrowing writes the record's own `ttlSeconds` (NARROW_AND_APPROVE), which is read first.
  put(sharedOut, 'tt', 'num', r.ttlSeconds);
  const text = JSON.stringify(sharedOut);
  const shared = { id: createHash('sha256').update(text).digest('base64url').slice(0, 22), text };
  out.push('sh', shared.id);
  for (const prop of REQUEST_SCRIPT_FIELDS) {
    known.add(prop);
    if (prop === 'ttlSeconds' && typeof r.ttlSeconds === 'number') {
      continue;
    }
    const value = r[prop];
    put(out, prop, typeof value === 'object' ? 'json' : 'str', value);
  }
  const rest = Object.fromEntries(Object.entries(r).filter(([k]) => !known.has(k)));
  if (Object.keys(rest).length > 0) {
    out.push('x', JSON.stringify(rest));
  }
  const pairs = splitLong(out, REQUEST_PIECED);
  const fields: Record<string, string> = {};
  for (let i = 0; i < pairs.length; i += 2) {
    fields[pairs[i]] = pairs[i + 1];
  }
  return { fields, shared };
}

/**
 * Whether a new request's record can go without its digest (75 bytes of listpack, the largest field): an
 * auto-approved request (created approved: the approval scripts, which compare the stored digest, only act on
 * pending requests, and nothing else rewrites it) whose digest is the one requestDigest derives from what the
 * record reads back as (scope and context as JSON gives them back). unpackRequest derives it again.
 */
function derivableDigest(r: AccessRequest): boolean {
  if (r.state !== 'approved' || typeof r.context !== 'object' || r.context === null) {
    return false;
  }
  const asRead = {
    ...r,
    context: JSON.parse(JSON.stringify(r.context)) as AccessRequest['context'],
    scope: r.scope === undefined ? undefined : (JSON.parse(JSON.stringify(r.scope)) as unknown),
  };
  return requestDigest(asRead) === r.digest;
}

/** The id of the shared part a request record names, if it names one. */
export function sharedPartOf(hash: Record<string, string>): string | undefined {
  return hash.sh;
}

/**
 * The request of a record; `shared` is the JSON text of the shared part the record names (see
 * sharedPartOf), which the caller read.
 */
export function unpackRequest(id: string, record: Record<string, string>, shared?: string): AccessRequest | undefined {
  const hash = joinLong(record);
  let base: Record<string, unknown>;
  if (hash.data) {
    base = JSON.parse(hash.data) as Record<string, unknown>;
  } else if (hash.ca) {
    base = { ...(hash.x ? (JSON.parse(hash.x) as object) : {}), id };
    // Records written before the shared part hold its fields themselves.
    if (hash.sh && shared === undefined) {
      // A caller that did not read the shared part would answer a request without its role, rule and scope.
      throw new Error(`request ${id} names shared part ${hash.sh}: read it (sharedPartOf) and pass its text`);
    }
    const pairs = hash.sh ? (JSON.parse(shared as string) as string[]) : [];
    const fields: Record<string, string> = { ...hash };
    for (let i = 0; i < pairs.length; i += 2) {
      fields[pairs[i]] = pairs[i + 1];
    }
    for (const [prop, name, kind] of [...REQUEST_FIELDS, ...SHARED_REQUEST_FIELDS, ['risk', 'rk', 'json'] as const]) {
      const value = take(fields, name, kind);
      if (value !== undefined) {
        base[prop] = value;
      }
    }
    // Plain values are in the shared part (records written before hold them themselves).
    if (fields.rl !== undefined) {
      base.risk = { level: fields.rl, reasons: [], findings: [] };
    }
    const session = unpackSession(fields);
    if (session) {
      base.session = session;
    }
    if (fields.dc !== undefined) {
      base.decision = DECISIONS[fields.dc] ?? fields.dc;
    }
    // The granted TTL in the shared part; a narrowed one (the record's `ttlSeconds`, below) replaces it.
    if (fields.tt !== undefined) {
      base.ttlSeconds = Number(fields.tt);
    }
  } else {
    return undefined;
  }
  const request = {
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
  // An auto-approved request's record does not hold its digest (derivableDigest): derived from what it holds.
  if (request.digest === undefined) {
    request.digest = requestDigest(request);
  }
  return request;
}
