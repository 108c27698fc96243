import { randomBytes } from 'node:crypto';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import {
  defineScript,
  scriptCommand,
  type AccessRequest,
  type AgentSession,
  type Approval,
  type Lease,
  type LeaseState,
} from '@leash/core';
import type {
  AddApprovalResult,
  BeginClaimResult,
  BeginRevokeResult,
  DueLeases,
  ClaimIntent,
  FoundRequest,
  LeaseCursor,
  LeaseFilter,
  LeasePage,
  LeaseStore,
  Narrowing,
  QuorumCompletion,
  RecordLeaseResult,
  RequestTransition,
  SessionWriteResult,
  TransitionResult,
} from './lease-store.port';
import { leaseIndexOf } from './lease-store.port';
import { LeaseError, LeaseErrorCode } from './lease.errors';
import * as scripts from './redis-lease-store.scripts';
import { IssuerNames } from './issuer-names';
import { handleOf, packLease, packRequest, sharedPartOf, unpackRequest } from './record-codec';

type Reply = [string, ...unknown[]];

const TERMINAL = new Set(['denied', 'expired', 'cancelled']);

const FENCE_TTL_MS = 24 * 3600 * 1000;

/** Shared request parts kept in process (immutable: named by their digest); few exist per policy version. */
const SHARED_CACHE_SIZE = 1000;

/** Entries of the list of every lease checked per trim step (their lease records are keys of one script call). */
const TRIM_BATCH = 500;

/** RECORD_LEASE's fixed keys; the fences to read follow them. */
const RECORD_LEASE_KEYS = 11;

/** How many replicas must acknowledge a lease record (Redis WAIT) before it counts as recorded. */
export interface LeaseReplication {
  minReplicas: number;
  timeoutMs: number;
}

/** Redis adapter of the lease store. Keys share one hash-tagged prefix (`{leash}`): one Cluster slot. */
export class RedisLeaseStore implements LeaseStore {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly pendingListeners: ((leaseIds: string[]) => void)[] = [];
  private readonly sharedParts = new Map<string, string>();
  private readonly issuers: IssuerNames;
  private subscriber?: Redis | Cluster;
  private subscribing?: Promise<void>;
  private durable?: Redis | Cluster;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
    private readonly retentionSeconds: number,
    private readonly replication: LeaseReplication = { minReplicas: 0, timeoutMs: 0 },
  ) {
    defineScripts(redis);
    this.issuers = new IssuerNames((ids) => this.guard(this.redis.hmget(this.k.issuers(), ...ids)));
  }

  private k = {
    req: (id: string) => `${this.prefix}:req:${id}`,
    shared: (id: string) => `${this.prefix}:req-shared:${id}`,
    // Issuer id -> issuer of lease records (IssuerNames); never expires (a handful of entries).
    issuers: () => `${this.prefix}:issuers`,
    approvals: (id: string) => `${this.prefix}:req:${id}:approvals`,
    deadlines: () => `${this.prefix}:req:deadlines`,
    session: (sid: string) => `${this.prefix}:session:${sid}`,
    idleSessions: () => `${this.prefix}:sessions:idle`,
    // Lists of ids in the order written (about 30 B an entry against 80–100 B in a set); the sets
    // below are those of records written before, still read until they expire.
    sessionRequests: (sid: string) => `${this.prefix}:session:${sid}:request-ids`,
    sessionLeases: (sid: string) => `${this.prefix}:session:${sid}:lease-ids`,
    principalLeases: (p: string) => `${this.prefix}:principal:${p}:lease-ids`,
    oldSessionReqs: (sid: string) => `${this.prefix}:session:${sid}:reqs`,
    oldSessionLeases: (sid: string) => `${this.prefix}:session:${sid}:leases`,
    oldPrincipalLeases: (p: string) => `${this.prefix}:principal:${p}:leases`,
    lease: (id: string) => `${this.prefix}:lease:${id}`,
    expiry: () => `${this.prefix}:leases:expiry`,
    // Every lease in recording order (a list, its head trimmed once the records it names are gone), and how
    // many entries were trimmed from it so far (list positions count from the first lease ever recorded).
    recorded: () => `${this.prefix}:leases:recorded`,
    recordedTrimmed: () => `${this.prefix}:leases:recorded:trimmed`,
    // The sorted set of every lease by issue time that earlier versions wrote (never trimmed): read, trimmed, no
    // longer written.
    all: () => `${this.prefix}:leases:all`,
    quarantine: () => `${this.prefix}:leases:quarantine`,
    handover: () => `${this.prefix}:leases:handover`,
    events: () => `${this.prefix}:events:requests`,
    revocationEvents: () => `${this.prefix}:events:pending-revocations`,
    fence: (scope: string) => `${this.prefix}:fence:${scope}`,
    intent: (leaseId: string) => `${this.prefix}:claim:${leaseId}`,
    intents: () => `${this.prefix}:claims`,
  };

  async raiseFences(scopes: string[], at: number): Promise<void> {
    const tx = this.redis.multi();
    // A fence matters only to claims in flight when it was raised; a day is far beyond any claim.
    scopes.forEach((scope) => tx.set(this.k.fence(scope), String(at), 'PX', FENCE_TTL_MS));
    await this.guard(tx.exec());
  }

  async latestFence(scopes: string[]): Promise<number | undefined> {
    if (scopes.length === 0) {
      return undefined;
    }
    const values = await this.readEach(scopes.map((scope) => (c) => c.get(this.k.fence(scope))));
    const times = values.flatMap((value) => (typeof value === 'string' ? [Number(value)] : []));
    return times.length > 0 ? Math.max(...times) : undefined;
  }

  private async run(name: string, ...args: (string | number)[]): Promise<Reply> {
    return (await this.guard(scriptCommand(this.redis, name)(...args))) as Reply;
  }

  /**
   * Independent reads in one round trip: a pipeline on a single node, one command each on Cluster.
   * ioredis resends a whole pipeline to the node an ASK names, and there the keys that have not
   * migrated yet read as missing: during a live reshard an existing request answered 404.
   */
  private async readEach(reads: ((c: ChainableCommander | Redis | Cluster) => unknown)[]): Promise<unknown[]> {
    // With auto-pipelining, single commands sent in the same tick leave in one write, shared with other requests'
    // commands (an explicit pipeline is a socket write of its own: the largest CPU cost of an issuance).
    if (this.redis.isCluster || this.redis.options.enableAutoPipelining === true) {
      return this.guard(Promise.all(reads.map((read) => read(this.redis))));
    }
    const pipeline = this.redis.pipeline();
    reads.forEach((read) => read(pipeline));
    return checked(await this.guard(pipeline.exec())).map(([, value]) => value);
  }

  private async guard<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (cause) {
      throw new LeaseError(LeaseErrorCode.StoreUnavailable, 'the lease store (Redis) is unavailable', { cause });
    }
  }

  async ping(): Promise<void> {
    await this.guard(this.redis.ping());
  }

  async createRequest(r: AccessRequest): Promise<void> {
    const { fields, shared } = packRequest(r);
    const keep = this.retentionSeconds + Math.ceil((r.expiresAt - r.createdAt) / 1000) * 2;
    // The shared part outlives every request naming it: past the approval window, the claim window and
    // the lease it issues (a day's margin for claims in flight); each new request extends it.
    const keepShared = keep + r.ttlSeconds + r.approval.claimWindowSeconds + 86400;
    // One script, not a MULTI: it leaves in the same socket write as other requests' commands (auto-pipelining).
    await this.run(
      'leashCreateRequest',
      this.k.req(r.id),
      this.k.deadlines(),
      this.k.sessionRequests(r.session?.id ?? '-'),
      this.k.shared(shared.id),
      r.id,
      r.expiresAt,
      keep,
      r.session ? this.retentionSeconds : '',
      shared.text,
      keepShared,
      ...Object.entries(fields).flat(),
    );
    this.rememberShared(shared.id, shared.text);
  }

  async getRequest(id: string): Promise<FoundRequest | undefined> {
    const [rawHash, rawApprovals] = await this.readEach([
      (c) => c.hgetall(this.k.req(id)),
      (c) => c.hvals(this.k.approvals(id)),
    ]);
    return this.toFound(id, rawHash, rawApprovals);
  }

  private async toFound(id: string, rawHash: unknown, rawApprovals: unknown): Promise<FoundRequest | undefined> {
    const hash = (rawHash ?? {}) as Record<string, string>;
    const approvals = ((rawApprovals ?? []) as string[]).map((a) => JSON.parse(a) as Approval);
    const request = unpackRequest(id, hash, await this.sharedPart(id, hash));
    if (!request) {
      return undefined;
    }
    approvals.sort((a, b) => a.at - b.at);
    return { request, approvals };
  }

  /** The shared part a request record names (from this process's cache, else Redis). */
  private async sharedPart(requestId: string, hash: Record<string, string>): Promise<string | undefined> {
    const sharedId = sharedPartOf(hash);
    if (!sharedId) {
      return undefined;
    }
    const cached = this.sharedParts.get(sharedId);
    if (cached !== undefined) {
      return cached;
    }
    const text = await this.guard(this.redis.get(this.k.shared(sharedId)));
    if (text === null) {
      throw new LeaseError(LeaseErrorCode.Corrupt, `request ${requestId}: its shared part ${sharedId} is missing`);
    }
    this.rememberShared(sharedId, text);
    return text;
  }

  private rememberShared(id: string, text: string): void {
    if (this.sharedParts.size >= SHARED_CACHE_SIZE) {
      this.sharedParts.clear();
    }
    this.sharedParts.set(id, text);
  }

  async transitionRequest(t: RequestTransition): Promise<TransitionResult> {
    const expires = t.expiresAt === undefined ? '' : t.expiresAt === null ? '-1' : String(t.expiresAt);
    const reply = await this.run(
      'leashReqTransition',
      this.k.req(t.id),
      this.k.deadlines(),
      this.k.approvals(t.id),
      t.id,
      t.from.join(','),
      t.to,
      t.now,
      t.deadline ?? '',
      expires,
      t.decidedAt === undefined ? '' : String(t.decidedAt),
      t.denial ? JSON.stringify(t.denial) : '',
      this.k.events(),
      TERMINAL.has(t.to) ? String(this.retentionSeconds) : '',
      t.reason ?? '',
    );
    return toResult(reply);
  }

  async lockRequest(id: string, ttlMs: number): Promise<string | undefined> {
    const token = randomBytes(12).toString('hex');
    const set = await this.guard(this.redis.set(`${this.k.req(id)}:lock`, token, 'PX', ttlMs, 'NX'));
    return set === 'OK' ? token : undefined;
  }

  async lockAndGetRequest(id: string, ttlMs: number): Promise<{ token?: string; found?: FoundRequest }> {
    const token = randomBytes(12).toString('hex');
    const lock = `${this.k.req(id)}:lock`;
    if (this.redis.isCluster) {
      // One after the other: a redirected (MOVED/ASK) command could otherwise overtake the lock.
      const set = await this.guard(this.redis.set(lock, token, 'PX', ttlMs, 'NX'));
      return set === 'OK' ? { token, found: await this.getRequest(id) } : {};
    }
    // Sent in this order on the one connection, so Redis runs the reads after the lock is taken.
    const [set, rawHash, rawApprovals] = await this.guard(
      Promise.all([
        this.redis.set(lock, token, 'PX', ttlMs, 'NX'),
        this.redis.hgetall(this.k.req(id)),
        this.redis.hvals(this.k.approvals(id)),
      ]),
    );
    return set === 'OK' ? { token, found: await this.toFound(id, rawHash, rawApprovals) } : {};
  }

  async unlockRequest(id: string, token: string): Promise<void> {
    await this.run('leashUnlock', `${this.k.req(id)}:lock`, token);
  }

  async addApproval(
    id: string,
    approval: Approval,
    now: number,
    completes?: QuorumCompletion,
  ): Promise<AddApprovalResult> {
    const reply = await this.run(
      'leashAddApproval',
      this.k.req(id),
      this.k.approvals(id),
      this.k.deadlines(),
      approval.approver,
      approval.digest,
      JSON.stringify(approval),
      now,
      this.k.events(),
      id,
      ...completionArgs(completes),
    );
    return toApprovalResult(reply);
  }

  async narrowAndApprove(
    id: string,
    n: Narrowing,
    approval: Approval,
    now: number,
    completes?: QuorumCompletion,
  ): Promise<AddApprovalResult> {
    const reply = await this.run(
      'leashNarrowAndApprove',
      this.k.req(id),
      this.k.approvals(id),
      this.k.deadlines(),
      approval.approver,
      n.fromDigest,
      JSON.stringify(approval),
      now,
      this.k.events(),
      id,
      ...completionArgs(completes),
      n.toDigest,
      n.ttlSeconds,
      JSON.stringify(n.narrowed),
    );
    return toApprovalResult(reply);
  }

  openRequests(limit: number): Promise<string[]> {
    return this.guard(this.redis.zrange(this.k.deadlines(), '0', String(limit - 1)));
  }

  async recordLease(
    lease: Lease,
    handle: Record<string, unknown>,
    now: number,
    trace?: Record<string, string>,
    fences: string[] = [],
  ): Promise<RecordLeaseResult> {
    const { state: _state, attempts: _attempts, ...props } = lease;
    const { issuer, ...rest } = props;
    // The issuer goes by its id (IssuerNames; the script adds the name); an empty one stays in the record.
    const named = issuer !== undefined && issuer !== '';
    const data = named ? rest : props;
    const keep = this.retentionSeconds + Math.ceil((lease.expiresAt - now) / 1000);
    const fenceKeys = fences.map((scope) => this.k.fence(scope));
    // The script takes a variable number of keys (its fixed eleven, then the fences): the count comes first.
    const args = [
      RECORD_LEASE_KEYS + fenceKeys.length,
      this.k.req(lease.requestId),
      this.k.deadlines(),
      this.k.lease(lease.id),
      this.k.expiry(),
      this.k.recorded(),
      this.k.sessionLeases(lease.sessionId ?? '-'),
      this.k.principalLeases(lease.principal),
      this.k.handover(),
      this.k.intent(lease.id),
      this.k.intents(),
      this.k.issuers(),
      ...fenceKeys,
      lease.requestId,
      lease.id,
      now,
      // The handle goes with the record's fields (in pieces if long); the script no longer reads this slot.
      JSON.stringify(packLease(data, handle)),
      '',
      lease.expiresAt,
      lease.issuedAt,
      lease.sessionId ? '1' : '0',
      this.k.events(),
      keep,
      trace && Object.keys(trace).length > 0 ? JSON.stringify(trace) : '',
      named ? issuer : '',
      named ? this.issuers.idOf(issuer) : '',
    ];
    if (this.replication.minReplicas === 0) {
      return toRecordResult(await this.run('leashRecordLease', ...args));
    }
    return this.recordReplicated(args);
  }

  async reserveDue(until: number, limit: number): Promise<DueLeases> {
    const reply = (await this.run(
      'leashReserveDue',
      this.k.expiry(),
      this.k.handover(),
      Math.floor(until),
      limit,
    )) as string[];
    const leases: DueLeases['leases'] = [];
    const traced = this.redis.pipeline();
    for (let i = 1; i < reply.length; i += 2) {
      leases.push({ id: reply[i], expiresAt: Number(reply[i + 1]) });
      traced.hget(this.k.lease(reply[i]), 'trace');
    }
    if (leases.length > 0) {
      checked(await this.guard(traced.exec())).forEach(([, trace], i) => {
        if (typeof trace === 'string') {
          leases[i].trace = JSON.parse(trace) as Record<string, string>;
        }
      });
    }
    return { upto: Number(reply[0]), leases };
  }

  async commitDue(upto: number): Promise<void> {
    await this.run('leashCommitDue', this.k.handover(), Math.floor(upto));
  }

  async handedOverUpTo(): Promise<number | undefined> {
    const done = await this.guard(this.redis.hget(this.k.handover(), 'done'));
    return done === null ? undefined : Number(done);
  }

  /**
   * Records the lease and WAITs for the replicas on one dedicated connection (WAIT counts the
   * writes of its own connection, and blocks it, so the shared one is never held up by it).
   */
  private async recordReplicated(args: (string | number)[]): Promise<RecordLeaseResult> {
    const { minReplicas, timeoutMs } = this.replication;
    const pipeline = this.durableConnection().pipeline();
    (pipeline as unknown as Record<string, (...a: (string | number)[]) => unknown>).leashRecordLease(...args);
    const replies = checked(await this.guard(pipeline.wait(minReplicas, timeoutMs).exec()));
    const result = toRecordResult(replies?.[0]?.[1] as Reply);
    const acked = Number(replies?.[1]?.[1] ?? 0);
    if (result.ok && acked < minReplicas) {
      throw new LeaseError(
        LeaseErrorCode.NotReplicated,
        `the lease record was acknowledged by ${acked} of ${minReplicas} required replicas within ${timeoutMs} ms`,
      );
    }
    return result;
  }

  /** Queues while (re)connecting: it is opened on first use; commandTimeout still bounds a claim. */
  private durableConnection(): Redis | Cluster {
    if (!this.durable) {
      const conn: Redis | Cluster = this.redis.isCluster
        ? (this.redis as Cluster).duplicate(undefined, { enableOfflineQueue: true })
        : (this.redis as Redis).duplicate({ enableOfflineQueue: true });
      conn.on('error', () => undefined);
      defineScripts(conn, true);
      this.durable = conn;
    }
    return this.durable;
  }

  async beginClaim(intent: ClaimIntent, now: number): Promise<BeginClaimResult> {
    const reply = await this.run(
      'leashBeginClaim',
      this.k.req(intent.requestId),
      this.k.intent(intent.leaseId),
      this.k.intents(),
      intent.requestId,
      intent.leaseId,
      now,
      intent.deadline,
      JSON.stringify(intent),
      this.retentionSeconds + intent.ttlSeconds,
      this.k.events(),
    );
    if (reply[0] === 'ok') {
      return { ok: true };
    }
    const deadline = typeof reply[2] === 'string' && reply[2] !== '' ? Number(reply[2]) : undefined;
    return {
      ok: false,
      reason: reply[0] as 'missing',
      state: reply[1] as string | undefined,
      ...(deadline !== undefined ? { claimDeadline: deadline } : {}),
    };
  }

  async heartbeatClaim(leaseId: string, deadline: number): Promise<boolean> {
    const reply = await this.run('leashHeartbeatClaim', this.k.intent(leaseId), this.k.intents(), leaseId, deadline);
    return Number(reply) === 1;
  }

  async abandonClaim(intent: ClaimIntent, _now: number): Promise<TransitionResult> {
    return toResult(
      await this.run(
        'leashAbandonClaim',
        this.k.req(intent.requestId),
        this.k.intent(intent.leaseId),
        this.k.intents(),
        intent.requestId,
        intent.leaseId,
        this.k.events(),
      ),
    );
  }

  deadClaims(now: number, limit: number): Promise<string[]> {
    return this.guard(this.redis.zrangebyscore(this.k.intents(), '-inf', now, 'LIMIT', 0, limit));
  }

  async takeDeadClaim(leaseId: string, now: number, retryAt: number): Promise<ClaimIntent | undefined> {
    const requestId = await this.guard(this.redis.hget(this.k.intent(leaseId), 'requestId'));
    if (!requestId) {
      await this.guard(this.redis.zrem(this.k.intents(), leaseId));
      return undefined;
    }
    const reply = await this.run(
      'leashTakeDeadClaim',
      this.k.intent(leaseId),
      this.k.intents(),
      this.k.req(requestId),
      leaseId,
      now,
      retryAt,
      requestId,
    );
    return reply[0] === 'ok' ? (JSON.parse(reply[1] as string) as ClaimIntent) : undefined;
  }

  async finishRecoveredClaim(leaseId: string, now: number): Promise<'approved' | 'expired' | undefined> {
    const requestId = await this.guard(this.redis.hget(this.k.intent(leaseId), 'requestId'));
    if (!requestId) {
      await this.guard(this.redis.zrem(this.k.intents(), leaseId));
      return undefined;
    }
    const reply = await this.run(
      'leashFinishRecoveredClaim',
      this.k.intent(leaseId),
      this.k.intents(),
      this.k.req(requestId),
      this.k.deadlines(),
      this.k.approvals(requestId),
      leaseId,
      requestId,
      now,
      this.retentionSeconds,
      this.k.events(),
    );
    return reply[0] === 'approved' || reply[0] === 'expired' ? reply[0] : undefined;
  }

  async getLease(id: string): Promise<Lease | undefined> {
    const [lease] = await this.issuers.leases([id], [await this.guard(this.redis.hgetall(this.k.lease(id)))]);
    return lease;
  }

  async listLeases(f: LeaseFilter): Promise<Lease[]> {
    let ids: string[];
    if (f.session) {
      ids = await this.idList(this.k.sessionLeases(f.session), this.k.oldSessionLeases(f.session));
    } else if (f.principal) {
      ids = await this.idList(this.k.principalLeases(f.principal), this.k.oldPrincipalLeases(f.principal));
    } else if (f.state === 'active' || f.state === 'revoking') {
      ids = await this.guard(this.redis.zrange(this.k.expiry(), '0', '9999'));
    } else if (f.state === 'revocation_failed') {
      ids = await this.guard(this.redis.zrange(this.k.quarantine(), '0', '9999'));
    } else {
      const [recorded, legacy] = (await this.readEach([
        (c) => c.lrange(this.k.recorded(), -10000, -1),
        (c) => c.zrevrange(this.k.all(), 0, 9999),
      ])) as [string[] | null, string[] | null];
      ids = [...(recorded ?? []).reverse(), ...(legacy ?? [])].slice(0, 10000);
    }
    return (await this.issuers.leases(ids, await this.leaseHashes(ids)))
      .filter((l): l is Lease => l !== undefined)
      .filter(
        (l) =>
          (!f.principal || l.principal === f.principal) &&
          (!f.environment || l.environment === f.environment) &&
          (!f.role || l.role === f.role) &&
          (!f.state || l.state === f.state),
      )
      .sort((a, b) => b.issuedAt - a.issuedAt)
      .slice(0, f.limit);
  }

  /**
   * One bounded page of leases: reads at most `scan` entries of the filter's index (and their lease
   * hashes) from `cursor` on, keeps those matching the filter, up to `f.limit`. Newest first: every
   * lease by recording order (then those an earlier version indexed by issue time), the expiry index
   * by expiry, quarantine by next retry, a session's or principal's list by recording order.
   */
  async pageLeases(f: LeaseFilter, cursor: LeaseCursor | undefined, scan: number): Promise<LeasePage> {
    const index = leaseIndexOf(f);
    if (cursor && cursor.index !== index) {
      throw new LeaseError(LeaseErrorCode.Corrupt, 'the cursor belongs to another listing');
    }
    const { entries, next } =
      index === 'session' || index === 'principal'
        ? await this.listEntries(f, index, cursor as Extract<LeaseCursor, { pos: number }> | undefined, scan)
        : index === 'all' && (!cursor || 'pos' in cursor)
          ? await this.recordedEntries(cursor?.pos, scan)
          : await this.zsetEntries(index, cursor as Extract<LeaseCursor, { score: number }> | undefined, scan);
    const ids = entries.map((e) => e.id);
    const leases = await this.issuers.leases(ids, await this.leaseHashes(ids));
    const items: LeasePage['items'] = [];
    for (const [i, l] of leases.entries()) {
      if (
        l &&
        (!f.principal || l.principal === f.principal) &&
        (!f.environment || l.environment === f.environment) &&
        (!f.role || l.role === f.role) &&
        (!f.state || l.state === f.state)
      ) {
        items.push({ lease: l, after: entries[i].after });
        if (items.length >= f.limit) {
          return { items, ...(i < entries.length - 1 || next ? { next: entries[i].after } : {}) };
        }
      }
    }
    return { items, ...(next ? { next } : {}) };
  }

  /**
   * Entries of the list of every lease, newest first from absolute position `pos` (absent: the newest).
   * Past the list's head (a position already trimmed, or -1) come the leases an earlier version indexed in
   * its sorted set, walked with score cursors as that version did (so its cursors still continue there).
   */
  private async recordedEntries(
    pos: number | undefined,
    scan: number,
  ): Promise<{ entries: { id: string; after: LeaseCursor }[]; next?: LeaseCursor }> {
    const reply = (await this.run(
      'leashRecordedPage',
      this.k.recorded(),
      this.k.recordedTrimmed(),
      pos === undefined ? '' : pos,
      scan,
    )) as unknown as string[];
    const trimmed = Number(reply[0]);
    const lo = Number(reply[1]);
    const ids = reply.slice(2);
    if (ids.length === 0) {
      return this.zsetEntries('all', undefined, scan);
    }
    const entries = ids
      .map((id, k): { id: string; after: LeaseCursor } => ({
        id,
        after: { index: 'all', pos: Math.max(-1, lo + k - 1) },
      }))
      .reverse();
    if (lo > trimmed) {
      return { entries, next: { index: 'all', pos: lo - 1 } };
    }
    const legacy = await this.guard(this.redis.exists(this.k.all()));
    return { entries, ...(legacy > 0 ? { next: { index: 'all', pos: -1 } } : {}) };
  }

  async trimLeaseIndex(limit: number): Promise<number> {
    let trimmed = 0;
    while (trimmed < limit) {
      const head = await this.guard(this.redis.lrange(this.k.recorded(), 0, TRIM_BATCH - 1));
      if (head.length === 0) {
        break;
      }
      const done = Number(
        await this.run(
          'leashTrimRecorded',
          2 + head.length,
          this.k.recorded(),
          this.k.recordedTrimmed(),
          ...head.map((id) => this.k.lease(id)),
          ...head,
        ),
      );
      trimmed += done;
      // A record still kept (or another trimmer that came first) ends this pass.
      if (done < head.length) {
        break;
      }
    }
    // The sorted set an earlier version wrote: its oldest entries whose records are gone.
    const old = await this.guard(this.redis.zrange(this.k.all(), '0', String(TRIM_BATCH - 1)));
    if (old.length > 0) {
      const exists = (await this.readEach(old.map((id) => (c) => c.exists(this.k.lease(id))))) as number[];
      const gone = old.filter((_, i) => Number(exists[i]) === 0);
      if (gone.length > 0) {
        trimmed += await this.guard(this.redis.zrem(this.k.all(), ...gone));
      }
    }
    return trimmed;
  }

  private async zsetEntries(
    index: 'all' | 'expiry' | 'quarantine',
    cursor: Extract<LeaseCursor, { score: number }> | undefined,
    scan: number,
  ): Promise<{ entries: { id: string; after: LeaseCursor }[]; next?: LeaseCursor }> {
    const key = index === 'all' ? this.k.all() : index === 'expiry' ? this.k.expiry() : this.k.quarantine();
    const take = (raw: string[], from = 0): { id: string; after: LeaseCursor }[] => {
      const out: { id: string; after: LeaseCursor }[] = [];
      for (let i = from; i < raw.length; i += 2) {
        out.push({ id: raw[i], after: { index, score: Number(raw[i + 1]), id: raw[i] } });
      }
      return out;
    };
    if (!cursor) {
      const raw = await this.guard(this.redis.zrevrangebyscore(key, '+inf', '-inf', 'WITHSCORES', 'LIMIT', 0, scan));
      const entries = take(raw);
      return { entries, ...(entries.length >= scan ? { next: entries[entries.length - 1].after } : {}) };
    }
    // The entries right after the cursor's own, by rank, while it is still in the index with its score.
    const ranked = (await this.run('leashZsetPage', key, cursor.score, cursor.id, scan)) as unknown as string[] | null;
    if (ranked) {
      const entries = take(ranked);
      return { entries, ...(entries.length >= scan ? { next: entries[entries.length - 1].after } : {}) };
    }
    // It left the index: skip the entries of its score it was listed with (equal scores come in reverse
    // lexicographic order, so those at or above its id come first), however many share that score.
    for (let offset = 0; ;) {
      const raw = await this.guard(
        this.redis.zrevrangebyscore(key, String(cursor.score), '-inf', 'WITHSCORES', 'LIMIT', offset, scan),
      );
      let first = 0;
      while (first < raw.length && Number(raw[first + 1]) === cursor.score && raw[first] >= cursor.id) {
        first += 2;
      }
      const entries = take(raw, first);
      if (entries.length > 0 || raw.length / 2 < scan) {
        // Fewer than a full batch read: the index ends here.
        return { entries, ...(raw.length / 2 >= scan ? { next: entries[entries.length - 1].after } : {}) };
      }
      offset += raw.length / 2;
    }
  }

  private async listEntries(
    f: LeaseFilter,
    index: 'session' | 'principal',
    cursor: Extract<LeaseCursor, { pos: number }> | undefined,
    scan: number,
  ): Promise<{ entries: { id: string; after: LeaseCursor }[]; next?: LeaseCursor }> {
    const [list, old] =
      index === 'session'
        ? [this.k.sessionLeases(f.session ?? ''), this.k.oldSessionLeases(f.session ?? '')]
        : [this.k.principalLeases(f.principal ?? ''), this.k.oldPrincipalLeases(f.principal ?? '')];
    const at = (pos: number): LeaseCursor => ({ index, pos });
    if (cursor && cursor.pos < 0) {
      // The set an earlier version wrote, after the list (sorted, so positions stay put).
      const skip = -1 - cursor.pos;
      const ids = (await this.guard(this.redis.smembers(old))).sort().slice(skip, skip + scan);
      const entries = ids.map((id, k) => ({ id, after: at(-2 - skip - k) }));
      const size = await this.guard(this.redis.scard(old));
      return { entries, ...(skip + ids.length < size ? { next: at(-1 - skip - ids.length) } : {}) };
    }
    const start = cursor ? cursor.pos : (await this.guard(this.redis.llen(list))) - 1;
    const from = Math.max(0, start - scan + 1);
    const ids = start < 0 ? [] : (await this.guard(this.redis.lrange(list, from, start))).reverse();
    const entries = ids.map((id, k) => ({ id, after: at(start - k - 1 >= 0 ? start - k - 1 : -1) }));
    if (from > 0) {
      return { entries, next: at(from - 1) };
    }
    const legacy = await this.guard(this.redis.scard(old));
    return { entries, ...(legacy > 0 ? { next: at(-1) } : {}) };
  }

  async *unrevokedLeases(batchSize: number): AsyncIterable<{ lease: Lease; handle: Record<string, unknown> }[]> {
    const [active, quarantined] = await Promise.all([
      this.guard(this.redis.zrange(this.k.expiry(), '0', '-1')),
      this.guard(this.redis.zrange(this.k.quarantine(), '0', '-1')),
    ]);
    const ids = [...new Set([...active, ...quarantined])];
    for (let i = 0; i < ids.length; i += batchSize) {
      const batch: { lease: Lease; handle: Record<string, unknown> }[] = [];
      const slice = ids.slice(i, i + batchSize);
      const hashes = await this.leaseHashes(slice);
      for (const [j, lease] of (await this.issuers.leases(slice, hashes)).entries()) {
        if (lease && lease.state !== 'revoked') {
          batch.push({ lease, handle: handleOf(slice[j], hashes[j]) });
        }
      }
      yield batch;
    }
  }

  /** The raw lease hashes of `ids`, in one round trip. */
  private async leaseHashes(ids: string[]): Promise<Record<string, string>[]> {
    if (ids.length === 0) {
      return [];
    }
    const hashes = await this.readEach(ids.map((id) => (c) => c.hgetall(this.k.lease(id))));
    return hashes as Record<string, string>[];
  }

  listSessionRequests(sessionId: string): Promise<string[]> {
    return this.idList(this.k.sessionRequests(sessionId), this.k.oldSessionReqs(sessionId));
  }

  /**
   * The ids of an index list, newest first, then those of the set that index was before (records of
   * earlier versions), each once.
   */
  private async idList(list: string, oldSet: string): Promise<string[]> {
    const [listed, old] = (await this.readEach([(c) => c.lrange(list, 0, -1), (c) => c.smembers(oldSet)])) as [
      string[] | null,
      string[] | null,
    ];
    return [...new Set([...(listed ?? []).reverse(), ...(old ?? [])])];
  }

  async beginRevoke(id: string, reason: string, _now: number): Promise<BeginRevokeResult> {
    const reply = await this.run('leashBeginRevoke', this.k.lease(id), reason);
    if (reply[0] !== 'ok') {
      return {
        ok: false,
        reason: reply[0] as 'missing',
        state: reply[1] as LeaseState | undefined,
      };
    }
    const flat = reply[1] as string[];
    const hash: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) {
      hash[flat[i]] = flat[i + 1];
    }
    const [lease] = await this.issuers.leases([id], [hash]);
    if (!lease) {
      throw new LeaseError(LeaseErrorCode.Corrupt, `lease ${id} has no data`);
    }
    return {
      ok: true,
      lease,
      handle: handleOf(id, hash),
    };
  }

  async completeRevoke(id: string, now: number): Promise<TransitionResult> {
    return toResult(
      await this.run(
        'leashCompleteRevoke',
        this.k.lease(id),
        this.k.expiry(),
        this.k.quarantine(),
        id,
        now,
        this.retentionSeconds,
      ),
    );
  }

  async failRevoke(
    id: string,
    error: string,
    final: boolean,
    _now: number,
    retryAt: number,
  ): Promise<TransitionResult> {
    return toResult(
      await this.run(
        'leashFailRevoke',
        this.k.lease(id),
        this.k.expiry(),
        this.k.quarantine(),
        id,
        error.slice(0, 500),
        final ? '1' : '0',
        retryAt,
      ),
    );
  }

  overdueLeases(now: number, limit: number): Promise<string[]> {
    return this.guard(this.redis.zrangebyscore(this.k.expiry(), '-inf', now, 'LIMIT', 0, limit));
  }

  quarantinedDue(now: number, limit: number): Promise<string[]> {
    return this.guard(this.redis.zrangebyscore(this.k.quarantine(), '-inf', now, 'LIMIT', 0, limit));
  }

  overdueRequests(now: number, limit: number): Promise<string[]> {
    return this.guard(this.redis.zrangebyscore(this.k.deadlines(), '-inf', now, 'LIMIT', 0, limit));
  }

  async registerSession(s: AgentSession): Promise<SessionWriteResult> {
    const data = { owner: s.owner, agent: s.agent, host: s.host };
    const reply = await this.run(
      'leashRegisterSession',
      this.k.session(s.id),
      this.k.idleSessions(),
      s.id,
      s.principal,
      s.issuer,
      JSON.stringify(data),
      s.idleSeconds,
      s.lastSeenAt,
      this.retentionSeconds,
    );
    return toSessionResult(reply);
  }

  async heartbeatSession(
    id: string,
    who: { principal: string; issuer: string },
    now: number,
  ): Promise<SessionWriteResult> {
    const reply = await this.run(
      'leashHeartbeatSession',
      this.k.session(id),
      this.k.idleSessions(),
      id,
      who.principal,
      who.issuer,
      now,
      this.retentionSeconds,
    );
    return toSessionResult(reply);
  }

  async bindSession(id: string, who: { principal: string; issuer: string }): Promise<SessionWriteResult> {
    const reply = await this.run(
      'leashBindSession',
      this.k.session(id),
      who.principal,
      who.issuer,
      this.retentionSeconds,
    );
    return toSessionResult(reply);
  }

  async sessionOwner(id: string): Promise<{ principal: string; issuer: string } | undefined> {
    const [principal, issuer] = await this.guard(this.redis.hmget(this.k.session(id), 'principal', 'issuer'));
    return principal && issuer ? { principal, issuer } : undefined;
  }

  async getSession(id: string): Promise<AgentSession | undefined> {
    const hash = await this.guard(this.redis.hgetall(this.k.session(id)));
    // A hash with an owner but no state binds an unregistered session id to its first requester.
    if (!hash.principal || !hash.state) {
      return undefined;
    }
    const data = JSON.parse(hash.data ?? '{}') as Pick<AgentSession, 'owner' | 'agent' | 'host'>;
    return {
      id,
      state: hash.state === 'ended' ? 'ended' : 'active',
      principal: hash.principal,
      issuer: hash.issuer,
      ...data,
      idleSeconds: Number(hash.idleSeconds),
      createdAt: Number(hash.createdAt),
      lastSeenAt: Number(hash.lastSeenAt),
      ...(hash.endedAt ? { endedAt: Number(hash.endedAt) } : {}),
      ...(hash.endReason ? { endReason: hash.endReason } : {}),
    };
  }

  async endSession(id: string, now: number, reason: string, onlyIfIdle: boolean): Promise<TransitionResult> {
    return toResult(
      await this.run(
        'leashEndSession',
        this.k.session(id),
        this.k.idleSessions(),
        id,
        now,
        reason,
        onlyIfIdle ? '1' : '0',
        this.retentionSeconds,
      ),
    );
  }

  idleSessions(now: number, limit: number): Promise<string[]> {
    return this.guard(this.redis.zrangebyscore(this.k.idleSessions(), '-inf', now, 'LIMIT', 0, limit));
  }

  async waitForChange(id: string, timeoutMs: number, stillWaiting?: () => Promise<boolean>): Promise<void> {
    await this.ensureSubscribed();
    let wake: () => void = () => undefined;
    const woken = new Promise<void>((resolve) => {
      const set = this.waiters.get(id) ?? new Set<() => void>();
      this.waiters.set(id, set);
      const done = (): void => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) {
          this.waiters.delete(id);
        }
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      set.add(done);
      wake = done;
    });
    // Re-check after the waiter is registered, so a change published just before is not missed.
    if (stillWaiting && !(await stillWaiting().catch(() => false))) {
      wake();
    }
    await woken;
  }

  async announcePendingRevocations(leaseIds: string[]): Promise<void> {
    for (let i = 0; i < leaseIds.length; i += ANNOUNCE_BATCH) {
      await this.guard(
        this.redis.publish(this.k.revocationEvents(), JSON.stringify(leaseIds.slice(i, i + ANNOUNCE_BATCH))),
      );
    }
  }

  async onPendingRevocations(listener: (leaseIds: string[]) => void): Promise<void> {
    this.pendingListeners.push(listener);
    await this.ensureSubscribed();
  }

  private ensureSubscribed(): Promise<void> {
    if (!this.subscribing) {
      // A subscriber takes only (UN)SUBSCRIBE: no auto-pipelining there.
      const sub: Redis | Cluster = this.redis.isCluster
        ? (this.redis as Cluster).duplicate(undefined, { enableOfflineQueue: true })
        : (this.redis as Redis).duplicate({ enableOfflineQueue: true, enableAutoPipelining: false });
      this.subscriber = sub;
      sub.on('error', () => undefined);
      sub.on('message', (channel: string, message: string) => {
        if (channel === this.k.revocationEvents()) {
          const ids = parseLeaseIds(message);
          this.pendingListeners.forEach((listener) => listener(ids));
          return;
        }
        for (const wake of [...(this.waiters.get(message) ?? [])]) {
          wake();
        }
      });
      this.subscribing = this.guard(sub.subscribe(this.k.events(), this.k.revocationEvents()).then(() => undefined));
      this.subscribing.catch(() => {
        this.subscribing = undefined;
        sub.disconnect();
      });
    }
    return this.subscribing;
  }

  close(): Promise<void> {
    this.subscriber?.disconnect();
    this.durable?.disconnect();
    for (const set of this.waiters.values()) {
      set.forEach((wake) => wake());
    }
    return Promise.resolve();
  }
}

type PipelineResult = [Error | null, unknown][] | null;

/** Lease ids per PUBLISH of pending revocations (a message stays well under a megabyte). */
const ANNOUNCE_BATCH = 1000;

/** The lease ids of a pending-revocation message; anything else on the channel is ignored. */
function parseLeaseIds(message: string): string[] {
  try {
    const value: unknown = JSON.parse(message);
    return Array.isArray(value)
      ? value.filter((id): id is string => typeof id === 'string' && id.length > 0 && id.length <= 200)
      : [];
  } catch {
    return [];
  }
}

/** A pipeline reports per-command errors instead of rejecting; any error means the store is unavailable. */
function checked(results: PipelineResult): [Error | null, unknown][] {
  if (!results || results.some(([err]) => err)) {
    throw new LeaseError(LeaseErrorCode.StoreUnavailable, 'the lease store (Redis) is unavailable');
  }
  return results;
}

function toResult(reply: Reply): TransitionResult {
  if (reply[0] === 'ok') {
    return { ok: true };
  }
  return {
    ok: false,
    reason: reply[0] as 'missing',
    state: reply[1] as string | undefined,
  };
}

function toRecordResult(reply: Reply): RecordLeaseResult {
  // A reply without the flag comes from nothing but this script's earlier version: schedule as it did.
  if (reply[0] === 'ok') {
    const fenced = typeof reply[2] === 'string' && reply[2] !== '' ? Number(reply[2]) : undefined;
    return { ok: true, scheduleNow: reply[1] !== '0', ...(fenced !== undefined ? { latestFence: fenced } : {}) };
  }
  return { ok: false, reason: reply[0] as 'missing', state: reply[1] as string | undefined };
}

function toSessionResult(reply: Reply): SessionWriteResult {
  if (reply[0] === 'ok') {
    return { ok: true };
  }
  return { ok: false, reason: reply[0] as 'missing', state: reply[1] as string | undefined };
}

function completionArgs(c: QuorumCompletion | undefined): string[] {
  return c ? [String(c.counted), String(c.expiresAt), String(c.decidedAt)] : ['', '', ''];
}

function toApprovalResult(reply: Reply): AddApprovalResult {
  if (reply[0] === 'ok') {
    return {
      ok: true,
      approvals: (reply[1] as string[]).map((a) => JSON.parse(a) as Approval),
      state: reply[2] === 'approved' ? 'approved' : 'pending',
    };
  }
  return { ok: false, reason: reply[0] as 'missing', state: reply[1] as string | undefined };
}

/**
 * The store's scripts: registered for `scriptCommand` (EVALSHA, auto-pipelined) on the shared connection, defined
 * as ioredis commands (`asCommands`) on the connection that sends them in explicit pipelines (recordReplicated).
 */
function defineScripts(redis: Redis | Cluster, asCommands = false): void {
  for (const [name, lua] of Object.entries({
    leashCreateRequest: [scripts.CREATE_REQUEST, 4],
    leashReqTransition: [scripts.REQUEST_TRANSITION, 3],
    leashAddApproval: [scripts.ADD_APPROVAL, 3],
    leashNarrowAndApprove: [scripts.NARROW_AND_APPROVE, 3],
    leashRecordLease: [scripts.RECORD_LEASE, undefined],
    leashReserveDue: [scripts.RESERVE_DUE, 2],
    leashCommitDue: [scripts.COMMIT_DUE, 1],
    leashBeginClaim: [scripts.BEGIN_CLAIM, 3],
    leashHeartbeatClaim: [scripts.HEARTBEAT_CLAIM, 2],
    leashAbandonClaim: [scripts.ABANDON_CLAIM, 3],
    leashTakeDeadClaim: [scripts.TAKE_DEAD_CLAIM, 3],
    leashFinishRecoveredClaim: [scripts.FINISH_RECOVERED_CLAIM, 5],
    leashBeginRevoke: [scripts.BEGIN_REVOKE, 1],
    leashCompleteRevoke: [scripts.COMPLETE_REVOKE, 3],
    leashFailRevoke: [scripts.FAIL_REVOKE, 3],
    leashRegisterSession: [scripts.REGISTER_SESSION, 2],
    leashBindSession: [scripts.BIND_SESSION, 1],
    leashHeartbeatSession: [scripts.HEARTBEAT_SESSION, 2],
    leashEndSession: [scripts.END_SESSION, 2],
    leashUnlock: [scripts.UNLOCK, 1],
    leashRecordedPage: [scripts.RECORDED_PAGE, 2],
    leashZsetPage: [scripts.ZSET_PAGE, 1],
    leashTrimRecorded: [scripts.TRIM_RECORDED, undefined],
  } as const)) {
    if (asCommands) {
      redis.defineCommand(name, { lua: lua[0], numberOfKeys: lua[1] });
    } else {
      defineScript(redis, name, { lua: lua[0], numberOfKeys: lua[1] });
    }
  }
}
