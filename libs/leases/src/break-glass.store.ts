import type { Cluster, Redis } from 'ioredis';
import { defineScript, scriptCommand, type Lease } from '@leash/core';
import { LeaseError, LeaseErrorCode } from './lease.errors';
import { IssuerNames } from './issuer-names';
import { handleOf } from './record-codec';

/** Which leases a break glass ends (absent fields match everything). */
export interface GlassSelector {
  environment?: string;
  role?: string;
  principal?: string;
}

/**
 * A break glass recorded before it revokes anything, so a broker that dies halfway leaves a record
 * that another process (the reconciler) takes over once `deadline` passes without a heartbeat.
 */
export interface BreakGlassRun {
  id: string;
  selector: GlassSelector;
  reason?: string;
  actor: { id: string; channel: 'api' | 'system' | 'web' | 'slack' };
  startedAt: number;
  /** Times this run was taken over from a process that stopped heartbeating it. */
  resumed: number;
  /** The audit log's head seq when the run started: its audit events follow it (absent on runs recorded before). */
  auditFrom?: number;
}

type Unrevoked = { lease: Lease; handle: Record<string, unknown> };

/** One batch of a break glass's walk through the unrevoked-lease indexes. */
export interface GlassBatch {
  /** Pass back to continue; '0' once the index was walked completely. */
  cursor: string;
  /** Matching leases of the `recordOnly` providers: marked revoked by this batch, in one script. */
  revoked: Unrevoked[];
  /** Matching leases of other providers: the caller revokes them through their provider. */
  matching: Unrevoked[];
  /** Leases that do not match, of the `widerMeasure` providers (what a provider-wide measure must spare). */
  others: Unrevoked[];
}

export interface GlassBatchOptions {
  selector: GlassSelector;
  /** Providers whose credentials are usable only while their lease record is active (JWT: introspection). */
  recordOnly: string[];
  /** Providers whose non-matching leases the caller needs (AWS role cut-off). */
  widerMeasure: string[];
  now: number;
  reason: string;
}

/**
 * Marks the matching leases of the record-only providers revoked (and notes them in the run's
 * set of leases not audited yet), and reports matching leases of other providers and non-matching
 * leases of the wider-measure providers. KEYS: expiry index, quarantine index, the run's unaudited
 * set, then one lease hash per id. ARGV: environment, role, principal ('' matches all),
 * ',recordOnly,', ',widerMeasure,', now, retention seconds, reason, then the ids. Returns one JSON
 * text of [kind, id, [field, value, …]] triples (one string to decode instead of ~30 per lease).
 */
const GLASS_BATCH = `
local out = {}
local revoked = {}
local recordOnly, wider = ARGV[4], ARGV[5]
for i = 4, #KEYS do
  local id = ARGV[i + 5]
  local f = redis.call('HMGET', KEYS[i], 'state', 'e', 'ro', 'pr', 'p', 'data', 'revokeReason', 'lastError')
  local state = f[1]
  if state and state ~= 'revoked' then
    local e, ro, pr, p = f[2], f[3], f[4], f[5]
    if not e and f[6] then
      local d = cjson.decode(f[6])
      e, ro, pr, p = d.environment, d.role, d.principal, d.provider
    end
    p = p or ''
    local match = (ARGV[1] == '' or ARGV[1] == e) and (ARGV[2] == '' or ARGV[2] == ro) and
      (ARGV[3] == '' or ARGV[3] == pr)
    if match and string.find(recordOnly, ',' .. p .. ',', 1, true) then
      -- A reason given before (a revocation already under way) is kept.
      redis.call('HSET', KEYS[i], 'state', 'revoked', 'revokedAt', ARGV[6], 'revokeReason', f[7] or ARGV[8])
      if f[8] then redis.call('HDEL', KEYS[i], 'lastError') end
      redis.call('ZREM', KEYS[1], id)
      redis.call('ZREM', KEYS[2], id)
      redis.call('EXPIRE', KEYS[i], ARGV[7])
      revoked[#revoked + 1] = id
      out[#out + 1] = {'r', id, redis.call('HGETALL', KEYS[i])}
    elseif match then
      out[#out + 1] = {'m', id, redis.call('HGETALL', KEYS[i])}
    elseif string.find(wider, ',' .. p .. ',', 1, true) then
      out[#out + 1] = {'o', id, redis.call('HGETALL', KEYS[i])}
    end
  end
end
for j = 1, #revoked, 500 do
  redis.call('SADD', KEYS[3], unpack(revoked, j, math.min(j + 499, #revoked)))
end
redis.call('EXPIRE', KEYS[3], ARGV[7])
if #out == 0 then return '[]' end
return cjson.encode(out)
`;

/** Records a run (KEYS: run hash, run index; ARGV: id, data, deadline, ttl seconds). */
const START_RUN = `
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'state', 'running')
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
`;

/** Moves a running run's deadline on; 0 once it finished or another process took it over (ARGV[3] = owner). */
const HEARTBEAT_RUN = `
if redis.call('HGET', KEYS[1], 'state') ~= 'running' or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[3] then
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
`;

/** Takes over a run past its deadline (ARGV: id, now, new deadline, owner); returns its data. */
const TAKE_RUN = `
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return false
end
local deadline = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]) or '0')
if deadline > tonumber(ARGV[2]) then return false end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[1], 'owner', ARGV[4])
local resumed = redis.call('HINCRBY', KEYS[1], 'resumed', 1)
return {redis.call('HGET', KEYS[1], 'data'), resumed}
`;

/** Marks a run done with its summary (ARGV: id, summary JSON, ttl seconds). */
const FINISH_RUN = `
redis.call('HSET', KEYS[1], 'state', 'done', 'summary', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`;

/**
 * Break glass over any number of leases: walks the unrevoked-lease indexes (expiry and quarantine
 * sorted sets) with ZSCAN, a bounded batch per call, and records break-glass runs so an
 * interrupted one is finished by another process.
 */
export class BreakGlassStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
    private readonly retentionSeconds: number,
  ) {
    // Without numberOfKeys: the key count (2 + one per lease of the batch) is the first argument.
    defineScript(redis, 'leashGlassBatch', { lua: GLASS_BATCH });
    defineScript(redis, 'leashGlassStart', { lua: START_RUN, numberOfKeys: 2 });
    defineScript(redis, 'leashGlassHeartbeat', { lua: HEARTBEAT_RUN, numberOfKeys: 2 });
    defineScript(redis, 'leashGlassTake', { lua: TAKE_RUN, numberOfKeys: 2 });
    defineScript(redis, 'leashGlassFinish', { lua: FINISH_RUN, numberOfKeys: 2 });
  }

  private k = {
    run: (id: string) => `${this.prefix}:glass:${id}`,
    unaudited: (id: string) => `${this.prefix}:glass:${id}:unaudited`,
    runs: () => `${this.prefix}:glass:running`,
    expiry: () => `${this.prefix}:leases:expiry`,
    quarantine: () => `${this.prefix}:leases:quarantine`,
    deadlines: () => `${this.prefix}:req:deadlines`,
    lease: (id: string) => `${this.prefix}:lease:${id}`,
    issuers: () => `${this.prefix}:issuers`,
  };

  private readonly issuers = new IssuerNames((ids) => this.guard(this.redis.hmget(this.k.issuers(), ...ids)));

  private script(name: string): (...args: (string | number)[]) => Promise<unknown> {
    return scriptCommand(this.redis, name);
  }

  /** Records the run as running by `owner` until `deadline` (it must heartbeat before). */
  async start(run: BreakGlassRun, owner: string, deadline: number): Promise<void> {
    const { id, resumed: _resumed, ...data } = run;
    await this.guard(
      this.script('leashGlassStart')(
        this.k.run(id),
        this.k.runs(),
        id,
        JSON.stringify(data),
        deadline,
        this.retentionSeconds,
      ),
    );
    await this.guard(this.redis.hset(this.k.run(id), 'owner', owner));
  }

  /** False once the run finished or another process took it over. */
  async heartbeat(id: string, owner: string, deadline: number): Promise<boolean> {
    return (
      Number(
        await this.guard(this.script('leashGlassHeartbeat')(this.k.run(id), this.k.runs(), id, deadline, owner)),
      ) === 1
    );
  }

  /** Ids of runs whose process stopped heartbeating them. */
  dead(now: number, limit: number): Promise<string[]> {
    return this.guard(this.redis.zrangebyscore(this.k.runs(), '-inf', now, 'LIMIT', 0, limit));
  }

  /** Takes over a dead run for `owner` until `deadline`; undefined when it finished or is alive. */
  async take(id: string, owner: string, now: number, deadline: number): Promise<BreakGlassRun | undefined> {
    const reply = (await this.guard(
      this.script('leashGlassTake')(this.k.run(id), this.k.runs(), id, now, deadline, owner),
    )) as [string, number] | null;
    if (!reply) {
      return undefined;
    }
    const data = JSON.parse(reply[0]) as Omit<BreakGlassRun, 'id' | 'resumed'>;
    return { ...data, id, resumed: Number(reply[1]) };
  }

  async finish(id: string, summary: Record<string, unknown>): Promise<void> {
    await this.guard(
      this.script('leashGlassFinish')(
        this.k.run(id),
        this.k.runs(),
        id,
        JSON.stringify(summary),
        this.retentionSeconds,
      ),
    );
  }

  /** The run's state and summary (once done). */
  async get(id: string): Promise<{ state: 'running' | 'done'; summary?: Record<string, unknown> } | undefined> {
    const [state, summary] = await this.guard(this.redis.hmget(this.k.run(id), 'state', 'summary'));
    if (state !== 'running' && state !== 'done') {
      return undefined;
    }
    return { state, ...(summary ? { summary: JSON.parse(summary) as Record<string, unknown> } : {}) };
  }

  /**
   * One step of the walk through `index` ('active': the expiry index, 'quarantine': revocation_failed
   * leases) from `cursor` ('0' to start): ZSCAN of about `count` ids, then one script over them. A
   * lease present for the whole walk is seen at least once (ZSCAN's guarantee); one seen twice is
   * already revoked the second time.
   */
  async batch(
    runId: string,
    index: 'active' | 'quarantine',
    cursor: string,
    count: number,
    o: GlassBatchOptions,
  ): Promise<GlassBatch> {
    const [next, flat] = await this.guard(
      this.redis.zscan(index === 'active' ? this.k.expiry() : this.k.quarantine(), cursor, 'COUNT', count),
    );
    const ids: string[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      ids.push(flat[i]);
    }
    const out: GlassBatch = { cursor: next, revoked: [], matching: [], others: [] };
    if (ids.length === 0) {
      return out;
    }
    const s = o.selector;
    const reply = await this.guard(
      this.script('leashGlassBatch')(
        ids.length + 3,
        this.k.expiry(),
        this.k.quarantine(),
        this.k.unaudited(runId),
        ...ids.map((id) => this.k.lease(id)),
        s.environment ?? '',
        s.role ?? '',
        s.principal ?? '',
        `,${o.recordOnly.join(',')},`,
        `,${o.widerMeasure.join(',')},`,
        o.now,
        this.retentionSeconds,
        o.reason,
        ...ids,
      ),
    );
    const rows = (JSON.parse(String(reply)) as [string, string, string[]][]).map(([kind, id, flatHash]) => {
      const hash: Record<string, string> = {};
      for (let i = 0; i < flatHash.length; i += 2) {
        hash[flatHash[i]] = flatHash[i + 1];
      }
      return { kind, id, hash };
    });
    const leases = await this.issuers.leases(
      rows.map((r) => r.id),
      rows.map((r) => r.hash),
    );
    for (const [i, { kind, id, hash }] of rows.entries()) {
      const lease = leases[i];
      if (!lease) {
        continue;
      }
      const item = { lease, handle: handleOf(id, hash) };
      (kind === 'r' ? out.revoked : kind === 'm' ? out.matching : out.others).push(item);
    }
    return out;
  }

  /**
   * One step of a walk through the open (pending or approved) requests, the deadline index, from
   * `cursor` ('0' to start): about `count` ids (ZSCAN: a request open for the whole walk is seen).
   */
  async openRequests(cursor: string, count: number): Promise<{ cursor: string; ids: string[] }> {
    const [next, flat] = await this.guard(this.redis.zscan(this.k.deadlines(), cursor, 'COUNT', count));
    return { cursor: next, ids: flat.filter((_, i) => i % 2 === 0) };
  }

  /** Leases this run revoked whose audit event may not be written yet (a process died in between). */
  unaudited(runId: string): Promise<string[]> {
    return this.guard(this.redis.smembers(this.k.unaudited(runId)));
  }

  /** Their audit events are written. */
  async audited(runId: string, leaseIds: string[]): Promise<void> {
    if (leaseIds.length > 0) {
      await this.guard(this.redis.srem(this.k.unaudited(runId), ...leaseIds));
    }
  }

  private async guard<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (cause) {
      throw new LeaseError(LeaseErrorCode.StoreUnavailable, 'the lease store (Redis) is unavailable', { cause });
    }
  }
}
