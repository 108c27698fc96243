import { canonicalJson, sha256Hex } from './canonical-json';

/**
 * The audit hash chain, pure and dependency-free so that the broker (on append and in
 * `GET /v1/audit/verify`) and the `leash` CLI (offline, from an export) run the same code.
 *
 * hash(event) = SHA-256(canonical JSON of the event without `hash`), where the event includes
 * its `seq` and the `prevHash` of its predecessor; the first event links to GENESIS_HASH.
 */
export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedEvent {
  seq: number;
  prevHash: string;
  hash: string;
  [field: string]: unknown;
}

/** A point of the chain: the event at `seq` has hash `hash`. */
export interface ChainPoint {
  seq: number;
  hash: string;
}

export type ChainBreakReason =
  | 'malformed'
  | 'hash_mismatch'
  | 'seq_gap'
  | 'seq_out_of_order'
  | 'prev_hash_mismatch'
  | 'checkpoint_mismatch'
  | 'checkpoint_invalid'
  | 'anchor_moved'
  | 'truncated';

/** The first broken link: the event at `index` (0-based, in the order read) and its `seq`. */
export interface ChainBreak {
  index: number;
  seq: number | null;
  reason: ChainBreakReason;
  detail: string;
}

export interface ChainVerification {
  ok: boolean;
  count: number;
  /** Where the verified range starts (seq 1 from genesis, or later after retention trimming). */
  start?: { seq: number; prevHash: string };
  head?: ChainPoint;
  checkpoints: { seq: number; status: 'matched' | 'before_start' }[];
  broken?: ChainBreak;
}

/** Computes the hash of an event from every field but `hash`. */
export function auditEventHash(event: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = event;
  return sha256Hex(canonicalJson(rest));
}

/** Fills `prevHash` and `hash` of an event that follows `previous` (or genesis). */
export function chainEvent<T extends Record<string, unknown>>(
  event: T & { seq: number },
  previous: ChainPoint | undefined,
): T & ChainedEvent {
  // One copy of the event (two audit events per issuance): hashed without `hash`, which is then added last, the
  // field order the stored JSON always had. `delete` only when there is a hash to drop (it slows the object down).
  const linked = { ...event, prevHash: previous?.hash ?? GENESIS_HASH } as T & ChainedEvent;
  if ('hash' in linked) {
    delete (linked as Partial<ChainedEvent>).hash;
  }
  linked.hash = sha256Hex(canonicalJson(linked));
  return linked;
}

const HEX64 = /^[0-9a-f]{64}$/;

function isChained(value: unknown): value is ChainedEvent {
  const e = value as Partial<ChainedEvent> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    Number.isSafeInteger(e.seq) &&
    (e.seq ?? 0) > 0 &&
    typeof e.prevHash === 'string' &&
    HEX64.test(e.prevHash) &&
    typeof e.hash === 'string' &&
    HEX64.test(e.hash)
  );
}

/**
 * Streaming verifier: push events in stored order, then `finish()`. It stops at the first broken
 * link. `anchor` is the last event before the range (e.g. the last trimmed one); `checkpoints` are
 * signed chain heads whose signatures the caller has already checked.
 */
export class AuditChainVerifier {
  private count = 0;
  private previous?: ChainPoint;
  private start?: { seq: number; prevHash: string };
  private broken?: ChainBreak;
  private readonly pending: Map<number, string>;
  private readonly matched: { seq: number; status: 'matched' | 'before_start' }[] = [];

  constructor(private readonly options: { anchor?: ChainPoint; checkpoints?: ChainPoint[] } = {}) {
    this.pending = new Map((options.checkpoints ?? []).map((c) => [c.seq, c.hash]));
  }

  get failed(): boolean {
    return this.broken !== undefined;
  }

  push(value: unknown): boolean {
    if (this.broken) {
      return false;
    }
    const index = this.count;
    this.count += 1;
    if (!isChained(value)) {
      return this.fail(index, null, 'malformed', 'the event lacks a valid seq, prevHash or hash');
    }
    const actual = auditEventHash(value);
    if (actual !== value.hash) {
      return this.fail(
        index,
        value.seq,
        'hash_mismatch',
        `event ${value.seq} was changed: its content does not match its hash`,
      );
    }
    const previous = this.previous ?? this.options.anchor;
    if (previous) {
      if (value.seq <= previous.seq) {
        return this.fail(
          index,
          value.seq,
          'seq_out_of_order',
          `seq ${value.seq} follows seq ${previous.seq}: events reordered or inserted`,
        );
      }
      if (value.seq !== previous.seq + 1) {
        return this.fail(
          index,
          value.seq,
          'seq_gap',
          `seq ${value.seq} follows seq ${previous.seq}: ${value.seq - previous.seq - 1} event(s) missing`,
        );
      }
      if (value.prevHash !== previous.hash) {
        return this.fail(
          index,
          value.seq,
          'prev_hash_mismatch',
          `event ${value.seq} does not link to event ${previous.seq}: an event was inserted, replaced or reordered`,
        );
      }
    } else if (value.seq === 1 && value.prevHash !== GENESIS_HASH) {
      return this.fail(index, value.seq, 'prev_hash_mismatch', 'event 1 does not start from the genesis hash');
    }
    this.start ??= { seq: value.seq, prevHash: value.prevHash };
    const expected = this.pending.get(value.seq);
    if (expected !== undefined) {
      if (expected !== value.hash) {
        return this.fail(
          index,
          value.seq,
          'checkpoint_mismatch',
          `event ${value.seq} differs from the signed checkpoint: the chain was rewritten`,
        );
      }
      this.pending.delete(value.seq);
      this.matched.push({ seq: value.seq, status: 'matched' });
    }
    this.previous = { seq: value.seq, hash: value.hash };
    return true;
  }

  finish(): ChainVerification {
    if (!this.broken) {
      const head = this.previous;
      const firstSeq = this.start?.seq ?? (this.options.anchor ? this.options.anchor.seq + 1 : 1);
      for (const [seq] of [...this.pending].sort(([a], [b]) => a - b)) {
        if (seq < firstSeq) {
          this.matched.push({ seq, status: 'before_start' });
        } else {
          this.fail(
            this.count,
            head ? head.seq + 1 : null,
            'truncated',
            `the chain ends at seq ${head?.seq ?? 'none'} but a signed checkpoint covers seq ${seq}: events were removed from the tail`,
          );
          break;
        }
      }
    }
    return {
      ok: !this.broken,
      count: this.count,
      ...(this.start ? { start: this.start } : {}),
      ...(this.previous ? { head: this.previous } : {}),
      checkpoints: this.matched,
      ...(this.broken ? { broken: this.broken } : {}),
    };
  }

  private fail(index: number, seq: number | null, reason: ChainBreakReason, detail: string): false {
    this.broken = { index, seq, reason, detail };
    return false;
  }
}

/** Verifies a whole chain held in memory. */
export function verifyAuditChain(
  events: Iterable<unknown>,
  options: { anchor?: ChainPoint; checkpoints?: ChainPoint[] } = {},
): ChainVerification {
  const sut = new AuditChainVerifier(options);
  for (const event of events) {
    if (!sut.push(event)) {
      break;
    }
  }
  return sut.finish();
}
