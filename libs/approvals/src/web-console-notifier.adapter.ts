import type { Cluster, Redis } from 'ioredis';
import { CoreError, CoreErrorCode, defineScript, scriptCommand, type AccessRequest, type RiskLevel } from '@leash/core';
import type { ApprovalNotifier, ApprovalOutcome, MessageRef } from './approval-notifier.port';
import { groupsOfRule } from './approver-eligibility';
import type { NotifierLogger, PendingQuery, PendingRequestIndex, PendingSlice } from './pending-request-index.port';

// Queue order in one number: a band per risk level (critical first), then creation time (oldest
// first). Creation times in ms stay below 1e13 until the year 2286, and 4e13 is far below 2^53.
const BAND = 1e13;
const BANDS: Record<RiskLevel, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** The index score of a request: ascending order is the queue order. */
export function queueScore(risk: RiskLevel, createdAt: number): number {
  return BANDS[risk] * BAND + createdAt;
}

// KEYS[1] scratch, KEYS[2..1+ARGV[1]] audience sets (union), the rest facet sets (intersection).
// Every set holds the same score for an id, so AGGREGATE MIN keeps it (the default SUM would move an
// id found in two sets out of its risk band). The scratch key lives only inside this script.
// Cost: one audience and no facet reads O(log N + limit); otherwise Redis builds the union of the
// audience sets (O(N log N) in their sizes) and intersects it with the facets (O(M log M) for the
// smallest); never a request body.
const LIST = `
local audiences = tonumber(ARGV[1])
local facets = #KEYS - 1 - audiences
local src = KEYS[2]
local function store(cmd, keys)
  local n = #keys
  keys[n + 1] = 'AGGREGATE'
  keys[n + 2] = 'MIN'
  redis.call(cmd, KEYS[1], n, unpack(keys))
end
if audiences > 1 or facets > 0 then
  src = KEYS[1]
  local first = KEYS[2]
  if audiences > 1 then
    local union = {}
    for i = 2, 1 + audiences do union[#union + 1] = KEYS[i] end
    store('ZUNIONSTORE', union)
    first = src
  end
  if facets > 0 then
    local inter = { first }
    for i = 2 + audiences, #KEYS do inter[#inter + 1] = KEYS[i] end
    store('ZINTERSTORE', inter)
  end
end
local ids = redis.call('ZRANGEBYSCORE', src, ARGV[2], ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
local total = redis.call('ZCOUNT', src, ARGV[2], ARGV[3])
if src == KEYS[1] then redis.call('DEL', src) end
return { total, ids }
`;

interface IndexedEntry {
  groups: string[];
  environment: string;
  role: string;
}

/**
 * Web adapter of the ApprovalNotifier port: a request that needs approval joins the console's
 * pending queue and the operator log names its console URL; a final outcome takes it out again.
 *
 * The queue is a set of Redis sorted sets sharing one score (risk band, then creation time): one
 * for everything (admins), one per approver group of the request's rule (what a viewer may
 * approve), one per environment and one per role (filters). Risk filters are score ranges. Readers
 * re-check each listed request's state, so an entry whose update was missed (expiry by the worker)
 * is pruned when it is next listed.
 */
export class WebConsoleNotifier implements ApprovalNotifier, PendingRequestIndex {
  readonly name = 'web';
  private readonly base: string;
  private readonly legacyKey: string;

  constructor(
    private readonly redis: Redis | Cluster,
    prefix: string,
    private readonly logger: NotifierLogger,
  ) {
    this.base = `${prefix}:console:queue`;
    this.legacyKey = `${prefix}:console:pending`;
    defineScript(redis, 'leashPendingList', { lua: LIST });
  }

  async broadcast(request: AccessRequest, approvalUrl: string): Promise<MessageRef[]> {
    await this.add(request);
    this.logger.log(
      `approval needed: ${request.id} ${request.role}@${request.environment} for ${request.principal} → ${approvalUrl}`,
    );
    return [{ notifier: this.name, ref: { url: approvalUrl } }];
  }

  async update(_refs: MessageRef[], request: AccessRequest, outcome: ApprovalOutcome): Promise<void> {
    if (outcome.kind !== 'approved' || outcome.final) {
      await this.remove(request.id);
    }
    this.logger.log(`request ${request.id}: ${outcome.kind}`);
  }

  async add(request: AccessRequest): Promise<void> {
    const entry: IndexedEntry = {
      groups: groupsOfRule(request.approval),
      environment: request.environment,
      role: request.role,
    };
    const score = queueScore(request.risk.level, request.createdAt);
    const tx = this.redis.multi();
    for (const key of this.keysOf(entry)) {
      tx.zadd(key, score, request.id);
    }
    tx.hset(this.key('meta'), request.id, JSON.stringify(entry));
    await tx.exec();
  }

  async list(query: PendingQuery): Promise<PendingSlice> {
    const audience =
      query.audience.kind === 'all'
        ? [this.base]
        : [...new Set(query.audience.groups)].map((g) => this.key('group', g));
    if (audience.length === 0 || query.limit <= 0) {
      return { ids: [], total: 0 };
    }
    const facets = [
      ...(query.environment !== undefined ? [this.key('env', query.environment)] : []),
      ...(query.role !== undefined ? [this.key('role', query.role)] : []),
    ];
    const [min, max] =
      query.risk === undefined
        ? ['-inf', '+inf']
        : [String(BANDS[query.risk] * BAND), `(${(BANDS[query.risk] + 1) * BAND}`];
    const keys = [this.key('scratch'), ...audience, ...facets];
    const fn = scriptCommand<[number, string[]]>(this.redis, 'leashPendingList');
    try {
      const [total, ids] = await fn(keys.length, ...keys, audience.length, min, max, query.limit);
      return { ids, total: Number(total) };
    } catch (cause) {
      throw new CoreError(CoreErrorCode.Unavailable, 'the approval queue (Redis) is unavailable', {}, { cause });
    }
  }

  async remove(id: string): Promise<void> {
    const raw = await this.redis.hget(this.key('meta'), id);
    const entry = raw ? (JSON.parse(raw) as IndexedEntry) : undefined;
    const tx = this.redis.multi();
    for (const key of entry ? this.keysOf(entry) : [this.base]) {
      tx.zrem(key, id);
    }
    tx.hdel(this.key('meta'), id);
    tx.zrem(this.legacyKey, id);
    await tx.exec();
  }

  async takeLegacy(limit: number): Promise<string[]> {
    const ids = await this.redis.zrange(this.legacyKey, '0', String(limit - 1));
    if (ids.length > 0) {
      await this.redis.zrem(this.legacyKey, ...ids);
    }
    return ids;
  }

  private keysOf(entry: IndexedEntry): string[] {
    return [
      this.base,
      ...entry.groups.map((g) => this.key('group', g)),
      this.key('env', entry.environment),
      this.key('role', entry.role),
    ];
  }

  private key(kind: 'meta' | 'scratch'): string;
  private key(kind: 'group' | 'env' | 'role', name: string): string;
  private key(kind: string, name?: string): string {
    return name === undefined ? `${this.base}:${kind}` : `${this.base}:${kind}:${encodeURIComponent(name)}`;
  }
}
