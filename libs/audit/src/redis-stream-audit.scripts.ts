/**
 * Compare-and-append. Redis Lua has no SHA-256, so the broker computes the hashes and this script
 * only commits a batch if the chain head is still the one the hashes were computed from.
 * KEYS: head, stream. ARGV: expected head ('' when empty), new head, then (seq, json) pairs.
 * Returns {1} or {0, current head}.
 */
export const APPEND = `
local head = redis.call('GET', KEYS[1]) or ''
if head ~= ARGV[1] then
  return {0, head}
end
for i = 3, #ARGV, 2 do
  redis.call('XADD', KEYS[2], ARGV[i] .. '-0', 'event', ARGV[i + 1])
end
redis.call('SET', KEYS[1], ARGV[2])
return {1}
`;

/**
 * Trims events up to seq ARGV[1] and stores the last trimmed one as the anchor, atomically.
 * KEYS: stream, anchor. Returns the number of events removed.
 */
export const TRIM = `
local last = redis.call('XRANGE', KEYS[1], ARGV[1] .. '-0', ARGV[1] .. '-0')
if #last == 0 then
  return 0
end
local event = cjson.decode(last[1][2][2])
redis.call('SET', KEYS[2], tostring(event.seq) .. ':' .. event.hash)
return redis.call('XTRIM', KEYS[1], 'MINID', (tonumber(ARGV[1]) + 1) .. '-0')
`;
