/** Lua scripts for atomic state transitions; every key a script touches is passed in KEYS. */

export const REQUEST_TRANSITION = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'missing'}
end
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do if s == state then allowed = true end end
if not allowed then return {'state', state} end
local now = tonumber(ARGV[4])
local exp = tonumber(redis.call('HGET', KEYS[1], 'expiresAt'))
if ARGV[5] == 'before' and now >= exp then return {'deadline', state} end
if ARGV[5] == 'after' and now < exp then return {'deadline', state} end
redis.call('HSET', KEYS[1], 'state', ARGV[3])
if ARGV[6] == '-1' then
  redis.call('ZREM', KEYS[2], ARGV[1])
elseif ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'expiresAt', ARGV[6])
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'decidedAt', ARGV[7]) end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'denial', ARGV[8]) end
if ARGV[11] ~= '' then redis.call('HSET', KEYS[1], 'closedReason', ARGV[11]) end
if ARGV[10] ~= '' then
  redis.call('EXPIRE', KEYS[1], ARGV[10])
  redis.call('EXPIRE', KEYS[3], ARGV[10])
end
redis.call('PUBLISH', ARGV[9], ARGV[1])
return {'ok'}
`;

/**
 * Shared by ADD_APPROVAL and NARROW_AND_APPROVE. ARGV[7]: '' (the approval does not complete the
 * quorum) or the count of other approvals of the digest approved (local digest) the caller evaluated
 * the quorum on; ARGV[8] the claim-window deadline, ARGV[9] decidedAt; ARGV[6] the request id.
 * KEYS[3] is the deadline index.
 */
const COMPLETE_QUORUM = `
local completes = ARGV[7] ~= ''
if completes then
  local counted = 0
  for _, raw in ipairs(redis.call('HVALS', KEYS[2])) do
    local a = cjson.decode(raw)
    if a.digest == digest and a.approver ~= ARGV[1] then counted = counted + 1 end
  end
  if counted ~= tonumber(ARGV[7]) then return {'changed', state} end
end`;

const APPROVE_IF_COMPLETE = `
if completes then
  redis.call('HSET', KEYS[1], 'state', 'approved', 'expiresAt', ARGV[8], 'decidedAt', ARGV[9])
  redis.call('ZADD', KEYS[3], ARGV[8], ARGV[6])
end`;

/**
 * Records an approval of the request's current digest (ARGV[2]). When the caller found that this
 * approval completes the quorum (ARGV[7] = the number of earlier approvals of that digest it
 * counted), the request moves to approved in the same script: nobody ever reads a completed quorum
 * on a pending request, and a crash between the two cannot strand one. If the approvals changed since
 * the caller counted them, nothing is written ('changed').
 */
export const ADD_APPROVAL = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if state ~= 'pending' then return {'state', state} end
if tonumber(ARGV[4]) >= tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) then return {'deadline', state} end
if redis.call('HGET', KEYS[1], 'digest') ~= ARGV[2] then return {'digest', state} end
local previous = redis.call('HGET', KEYS[2], ARGV[1])
-- An approval of an earlier (narrowed-away) digest no longer counts, so its approver may approve again.
if previous and cjson.decode(previous).digest == ARGV[2] then return {'duplicate', state} end
local digest = ARGV[2]
${COMPLETE_QUORUM}
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
${APPROVE_IF_COMPLETE}
redis.call('PUBLISH', ARGV[5], ARGV[6])
return {'ok', redis.call('HVALS', KEYS[2]), completes and 'approved' or 'pending'}
`;

/**
 * Narrows a pending request to a shorter TTL and records the narrowing approver's approval of the
 * new digest, atomically: the approver must have seen the current digest (ARGV[2]); TTL and digest
 * are replaced together, so approvals of the old digest stop counting at once.
 */
export const NARROW_AND_APPROVE = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if state ~= 'pending' then return {'state', state} end
if tonumber(ARGV[4]) >= tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) then return {'deadline', state} end
if redis.call('HGET', KEYS[1], 'digest') ~= ARGV[2] then return {'digest', state} end
local digest = ARGV[10]
${COMPLETE_QUORUM}
redis.call('HSET', KEYS[1], 'digest', ARGV[10], 'ttlSeconds', ARGV[11], 'narrowed', ARGV[12])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
${APPROVE_IF_COMPLETE}
redis.call('PUBLISH', ARGV[5], ARGV[6])
return {'ok', redis.call('HVALS', KEYS[2]), completes and 'approved' or 'pending'}
`;

/**
 * Records a new request with its shared part (what the policy decided for the role, named by its digest; kept
 * while any request names it) and its indexes, in one command so that concurrent requests' writes leave together
 * on an auto-pipelined connection (a MULTI is a socket write of its own). KEYS: request, deadline index, its
 * session's request list (an unused key without a session), shared part. ARGV: id, expiresAt, request TTL (s),
 * session list TTL (s, '' without a session), shared part text, its TTL (s), then the hash's field/value pairs.
 */
export const CREATE_REQUEST = `
redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[6], 'NX')
redis.call('EXPIRE', KEYS[4], ARGV[6], 'GT')
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('RPUSH', KEYS[3], ARGV[1])
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
return 1
`;

export const RECORD_LEASE = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if state ~= 'issuing' then return {'state', state} end
-- Only the attempt that holds the claim records; one whose intent was recovered (dead) does not.
if redis.call('HGET', KEYS[1], 'claimIntent') ~= ARGV[2] then return {'state', state} end
redis.call('HDEL', KEYS[1], 'claimIntent')
redis.call('DEL', KEYS[9])
redis.call('ZREM', KEYS[10], ARGV[2])
redis.call('HSET', KEYS[1], 'state', 'issued', 'leaseId', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[10])
redis.call('HSET', KEYS[3], unpack(cjson.decode(ARGV[4])))
-- No attempts field until the first revocation attempt counts one (HINCRBY): a lease reads 0 without it.
-- The revocation handle, when stored at all (packHandle), is among the fields of ARGV[4]; ARGV[5] is not read.
redis.call('HSET', KEYS[3], 'state', 'active')
if ARGV[11] ~= '' then redis.call('HSET', KEYS[3], 'trace', ARGV[11]) end
-- The principal's issuer by its id (ARGV[13], derived from the issuer ARGV[12]: IssuerNames): the id -> issuer hash
-- (KEYS[11]) gains it in this step, so the name exists whenever a lease names it; an id another issuer holds
-- leaves the issuer in the record itself.
if ARGV[12] ~= '' then
  local named = redis.call('HGET', KEYS[11], ARGV[13])
  if not named then
    redis.call('HSET', KEYS[11], ARGV[13], ARGV[12])
    named = ARGV[12]
  end
  if named == ARGV[12] then
    redis.call('HSET', KEYS[3], 'is', ARGV[13])
  else
    redis.call('HSET', KEYS[3], 'i', ARGV[12])
  end
end
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[2])
-- Every lease, in recording order (a list: ~30 B an entry against ~120 B in a sorted set); its head is trimmed
-- once the records it names are gone (TRIM_RECORDED).
redis.call('RPUSH', KEYS[5], ARGV[2])
-- Session and principal indexes are lists (a lease is recorded once: the claim intent guards it); each
-- keeps the longest lifetime any of its leases needs (a shorter lease recorded later does not cut it).
local keep = tonumber(ARGV[10])
if ARGV[8] == '1' then
  redis.call('RPUSH', KEYS[6], ARGV[2])
  if redis.call('TTL', KEYS[6]) < keep then redis.call('EXPIRE', KEYS[6], keep) end
end
redis.call('RPUSH', KEYS[7], ARGV[2])
if redis.call('TTL', KEYS[7]) < keep then redis.call('EXPIRE', KEYS[7], keep) end
redis.call('PUBLISH', ARGV[9], ARGV[1])
-- The fences (KEYS[12] on) are read in the same step as the record: a session end or break glass raised
-- before it is seen here, one raised after it finds the lease when it lists them.
local fenced = ''
for i = 12, #KEYS do
  local at = redis.call('GET', KEYS[i])
  if at and (fenced == '' or tonumber(at) > tonumber(fenced)) then fenced = at end
end
-- The hand-over already passed this expiry (or never ran: a worker of an earlier version): the caller
-- schedules the revocation job itself, else the hand-over moves the lease into a job shortly before it is due.
local reserved = redis.call('HGET', KEYS[8], 'reserved')
if not reserved or tonumber(ARGV[6]) <= tonumber(reserved) then return {'ok', '1', fenced} end
return {'ok', '0', fenced}
`;

/**
 * Reserves the leases of the expiry index due up to ARGV[1] that no hand-over took yet (scores after
 * the 'done' mark), at most ARGV[2] of them. The 'reserved' mark tells a claim recording a lease in
 * that range to schedule its job itself. Returns the upper bound covered, then id, expiry pairs.
 */
export const RESERVE_DUE = `
local done = redis.call('HGET', KEYS[2], 'done')
local from = done and ('(' .. done) or '-inf'
local upto = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local rows = redis.call('ZRANGEBYSCORE', KEYS[1], from, upto, 'WITHSCORES', 'LIMIT', 0, limit)
if #rows / 2 >= limit then
  -- Truncated: cover only whole milliseconds, so the next run starts after the last one taken.
  local last = tonumber(rows[#rows])
  if done and last - 1 <= tonumber(done) then
    rows = redis.call('ZRANGEBYSCORE', KEYS[1], from, last, 'WITHSCORES')
    upto = last
  else
    upto = last - 1
    local kept = {}
    for i = 1, #rows, 2 do
      if tonumber(rows[i + 1]) <= upto then
        kept[#kept + 1] = rows[i]
        kept[#kept + 1] = rows[i + 1]
      end
    end
    rows = kept
  end
end
local reserved = tonumber(redis.call('HGET', KEYS[2], 'reserved') or '0')
if upto > reserved then redis.call('HSET', KEYS[2], 'reserved', string.format('%d', upto)) end
table.insert(rows, 1, string.format('%d', upto))
return rows
`;

/** Marks the leases up to ARGV[1] as handed over to revocation jobs (the mark only moves forward). */
export const COMMIT_DUE = `
local done = redis.call('HGET', KEYS[1], 'done')
if not done or tonumber(ARGV[1]) > tonumber(done) then redis.call('HSET', KEYS[1], 'done', ARGV[1]) end
return 1
`;

/**
 * Takes the claim of an approved request within its claim window and records the attempt's intent
 * (KEYS: request, intent, intent index). Refused with the state and, when issuing, the running
 * attempt's deadline.
 */
export const BEGIN_CLAIM = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if state ~= 'approved' then
  local running = redis.call('HGET', KEYS[1], 'claimIntent')
  local deadline = ''
  if running then deadline = redis.call('ZSCORE', KEYS[3], running) or '' end
  return {'state', state, deadline}
end
if tonumber(ARGV[3]) >= tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) then return {'deadline', state} end
redis.call('HSET', KEYS[1], 'state', 'issuing', 'claimIntent', ARGV[2])
redis.call('HSET', KEYS[2], 'data', ARGV[5], 'state', 'pending', 'requestId', ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
redis.call('PUBLISH', ARGV[7], ARGV[1])
return {'ok'}
`;

/** A live attempt moves its deadline on; not once its intent was taken over or removed. */
export const HEARTBEAT_CLAIM = `
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return 0 end
redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[1])
return 1
`;

/** The provider minted nothing: the intent goes and the request is approved again (unless recovery took it). */
export const ABANDON_CLAIM = `
if redis.call('HGET', KEYS[2], 'state') ~= 'pending' then return {'state', 'recovering'} end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[2])
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if redis.call('HGET', KEYS[1], 'claimIntent') ~= ARGV[2] or state ~= 'issuing' then return {'state', state} end
redis.call('HDEL', KEYS[1], 'claimIntent')
redis.call('HSET', KEYS[1], 'state', 'approved')
redis.call('PUBLISH', ARGV[3], ARGV[1])
return {'ok'}
`;

/**
 * Takes over the intent of an attempt past its deadline (KEYS: intent, intent index, request):
 * marks it recovering, detaches it from the request so the attempt can no longer record a lease,
 * and holds it until ARGV[3] (a failed recovery is retried after that).
 */
export const TAKE_DEAD_CLAIM = `
local st = redis.call('HGET', KEYS[1], 'state')
if not st then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'missing'}
end
if redis.call('HGET', KEYS[1], 'requestId') ~= ARGV[4] then return {'missing'} end
local deadline = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]) or '0')
if deadline > tonumber(ARGV[2]) then return {'alive'} end
redis.call('HSET', KEYS[1], 'state', 'recovering')
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
if redis.call('HGET', KEYS[3], 'claimIntent') == ARGV[1] then redis.call('HDEL', KEYS[3], 'claimIntent') end
return {'ok', redis.call('HGET', KEYS[1], 'data')}
`;

/**
 * Drops a recovered intent and frees its request (KEYS: intent, intent index, request, deadline
 * index, approvals): approved again within the claim window, expired (claim_interrupted) after it.
 */
export const FINISH_RECOVERED_CLAIM = `
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local state = redis.call('HGET', KEYS[3], 'state')
if state ~= 'issuing' or redis.call('HEXISTS', KEYS[3], 'claimIntent') == 1 then return {'unchanged'} end
if tonumber(ARGV[3]) < tonumber(redis.call('HGET', KEYS[3], 'expiresAt')) then
  redis.call('HSET', KEYS[3], 'state', 'approved')
  redis.call('PUBLISH', ARGV[5], ARGV[2])
  return {'approved'}
end
redis.call('HSET', KEYS[3], 'state', 'expired', 'closedReason', 'claim_interrupted')
redis.call('ZREM', KEYS[4], ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('EXPIRE', KEYS[5], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[2])
return {'expired'}
`;

export const BEGIN_REVOKE = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if state == 'revoked' then return {'state', state} end
redis.call('HSET', KEYS[1], 'state', 'revoking')
redis.call('HSETNX', KEYS[1], 'revokeReason', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return {'ok', redis.call('HGETALL', KEYS[1])}
`;

export const COMPLETE_REVOKE = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if state ~= 'revoking' then return {'state', state} end
redis.call('HSET', KEYS[1], 'state', 'revoked', 'revokedAt', ARGV[2])
redis.call('HDEL', KEYS[1], 'lastError')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {'ok'}
`;

export const FAIL_REVOKE = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if state ~= 'revoking' then return {'state', state} end
redis.call('HSET', KEYS[1], 'lastError', ARGV[2])
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'state', 'revocation_failed')
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
end
return {'ok'}
`;

/**
 * A page of the list of every lease (KEYS: list, count of entries trimmed from its head), newest first from
 * absolute position ARGV[1] ('' = the newest), at most ARGV[2] entries. Positions count from the first entry
 * ever pushed, so trimming the head never moves them. Returns the trimmed count, the position of the first
 * id returned, then the ids, oldest first.
 */
export const RECORDED_PAGE = `
local trimmed = tonumber(redis.call('GET', KEYS[2]) or '0')
local top = trimmed + redis.call('LLEN', KEYS[1]) - 1
local from = top
if ARGV[1] ~= '' and tonumber(ARGV[1]) < top then from = tonumber(ARGV[1]) end
if from < trimmed then return {string.format('%d', trimmed), string.format('%d', trimmed)} end
local lo = math.max(trimmed, from - tonumber(ARGV[2]) + 1)
local ids = redis.call('LRANGE', KEYS[1], lo - trimmed, from - trimmed)
return {string.format('%d', trimmed), string.format('%d', lo), unpack(ids)}
`;

/**
 * The entries of a sorted set after a listing's cursor (ARGV: its score and member), walking from the highest
 * score down, at most ARGV[3] (with scores): by the member's rank, so however many entries share its score none
 * is skipped or listed twice. False when the member left the set or has another score (the caller then skips
 * the entries of that score at or above it).
 */
export const ZSET_PAGE = `
local s = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not s or tonumber(s) ~= tonumber(ARGV[1]) then return false end
local r = redis.call('ZREVRANK', KEYS[1], ARGV[2])
return redis.call('ZREVRANGE', KEYS[1], r + 1, r + tonumber(ARGV[3]), 'WITHSCORES')
`;

/**
 * Trims the head of the list of every lease (KEYS: list, trimmed count, then the lease records of ARGV, the ids
 * the caller read at its head): the entries up to the first whose record still exists (or that is no longer
 * where the caller read it: another trimmer came first) go, counted as trimmed. A lease record once gone never
 * comes back (ids are not reused), so the list never names a record past the first one still kept.
 * Returns how many were trimmed.
 */
export const TRIM_RECORDED = `
local head = redis.call('LRANGE', KEYS[1], 0, #ARGV - 1)
local n = 0
for i = 1, #head do
  if head[i] ~= ARGV[i] or redis.call('EXISTS', KEYS[i + 2]) == 1 then break end
  n = i
end
if n > 0 then
  redis.call('LTRIM', KEYS[1], n, -1)
  redis.call('INCRBY', KEYS[2], n)
end
return n
`;

/** Releases a lock only if this holder still owns it. */
export const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Registers (or re-activates) an agent session for its principal; another principal's session id is refused. */
export const REGISTER_SESSION = `
local p = redis.call('HGET', KEYS[1], 'principal')
if p and (p ~= ARGV[2] or redis.call('HGET', KEYS[1], 'issuer') ~= ARGV[3]) then return {'owner'} end
if redis.call('HEXISTS', KEYS[1], 'createdAt') == 0 then redis.call('HSET', KEYS[1], 'createdAt', ARGV[6]) end
redis.call('HSET', KEYS[1], 'principal', ARGV[2], 'issuer', ARGV[3], 'data', ARGV[4], 'idleSeconds', ARGV[5],
  'lastSeenAt', ARGV[6], 'state', 'active')
redis.call('HDEL', KEYS[1], 'endedAt', 'endReason')
redis.call('ZADD', KEYS[2], tonumber(ARGV[6]) + tonumber(ARGV[5]) * 1000, ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]) + tonumber(ARGV[5]))
return {'ok'}
`;

/**
 * Binds an agent session id to the principal (issuer, subject) of its first request, so no other
 * principal can add requests to it; a registered session is already bound to its registrant.
 */
export const BIND_SESSION = `
local p = redis.call('HGET', KEYS[1], 'principal')
if p then
  if p ~= ARGV[1] or redis.call('HGET', KEYS[1], 'issuer') ~= ARGV[2] then return {'owner'} end
  if redis.call('TTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
  return {'ok'}
end
redis.call('HSET', KEYS[1], 'principal', ARGV[1], 'issuer', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {'ok'}
`;

/** Records a heartbeat; a session already past its idle deadline is not revived. */
export const HEARTBEAT_SESSION = `
local p = redis.call('HGET', KEYS[1], 'principal')
if not p then return {'missing'} end
if p ~= ARGV[2] or redis.call('HGET', KEYS[1], 'issuer') ~= ARGV[3] then return {'owner'} end
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if state ~= 'active' then return {'state', state} end
local idle = tonumber(redis.call('HGET', KEYS[1], 'idleSeconds'))
local now = tonumber(ARGV[4])
if now >= tonumber(redis.call('HGET', KEYS[1], 'lastSeenAt')) + idle * 1000 then return {'deadline', state} end
redis.call('HSET', KEYS[1], 'lastSeenAt', ARGV[4])
redis.call('ZADD', KEYS[2], now + idle * 1000, ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]) + idle)
return {'ok'}
`;

/** Ends a session; with ARGV[4] = '1' only if it is active and past its idle deadline (the reconciler's check). */
export const END_SESSION = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'missing'}
end
if ARGV[4] == '1' then
  if state ~= 'active' then
    redis.call('ZREM', KEYS[2], ARGV[1])
    return {'state', state}
  end
  local deadline = tonumber(redis.call('HGET', KEYS[1], 'lastSeenAt')) +
    tonumber(redis.call('HGET', KEYS[1], 'idleSeconds')) * 1000
  if tonumber(ARGV[2]) < deadline then return {'deadline', state} end
end
redis.call('HSET', KEYS[1], 'state', 'ended', 'endedAt', ARGV[2], 'endReason', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {'ok'}
`;
