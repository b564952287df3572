-- sweep.lua: after a node re-acquired its lease and re-asserted EVERY live session
-- (reassert.lua), frees the names still recorded for it under an older epoch: sessions that
-- ended while Redis was unreachable or the node was fenced, whose release never arrived.
-- Batched with an SSCAN cursor over the node's set, so 1M names never block Redis for long.
--
-- KEYS[1] = <prefix>names             HASH lower -> "<node> <epoch> <connection> <spelling>"
-- KEYS[2] = <prefix>online            ZSET "<lower>\0<spelling>"
-- KEYS[3] = <prefix>namebytes
-- KEYS[4] = <prefix>lease:<node>
-- KEYS[5] = <prefix>node:<node>:names
-- ARGV[1] = prefix (for the channel <prefix>control)
-- ARGV[2] = node id (hex)
-- ARGV[3] = the node's current epoch
-- ARGV[4] = cursor: "0" to start, then what the previous call returned
-- ARGV[5] = batch: the SSCAN COUNT hint (1..10000)
--
-- A name whose record is this node's under another epoch is freed; a name in the set that is
-- recorded for another node, or not at all, is only dropped from the set; names recorded under
-- the current epoch are kept. (SSCAN may return a name twice: freeing is idempotent.)
-- Returns:
--   {"ok", freed, cursor}  cursor "0" = done, else call again with it
--   {"fenced"}             the lease is missing or holds another epoch; nothing was written
-- Publishes "leave <node> <lower1> ..." on <prefix>control when it freed names.
-- Errors: "ERR sweep: ..." on bad input.
local prefix, node, epoch, cursor = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local batch = tonumber(ARGV[5])
if type(node) ~= 'string' or not string.match(node, '^%x+$') then
  return redis.error_reply('ERR sweep: node id must be hex')
end
if type(epoch) ~= 'string' or not string.match(epoch, '^%d+$') or type(cursor) ~= 'string' or
    not string.match(cursor, '^%d+$') then
  return redis.error_reply('ERR sweep: epoch and cursor must be decimal')
end
if not batch or batch < 1 or batch > 10000 or batch ~= math.floor(batch) then
  return redis.error_reply('ERR sweep: batch must be an integer in 1..10000')
end
if redis.call('GET', KEYS[4]) ~= epoch then return {'fenced'} end

local scan = redis.call('SSCAN', KEYS[5], cursor, 'COUNT', batch)
local freed = {}
for _, lower in ipairs(scan[2]) do
  local held = redis.call('HGET', KEYS[1], lower)
  local hNode, hEpoch, hSpelling, _
  if held then
    hNode, hEpoch, _, hSpelling = string.match(held, '^(%x+) (%d+) (%d+) (.+)$')
  end
  if hNode ~= node then
    redis.call('SREM', KEYS[5], lower)
  elseif hEpoch ~= epoch then
    redis.call('HDEL', KEYS[1], lower)
    redis.call('ZREM', KEYS[2], lower .. '\0' .. hSpelling)
    redis.call('DECRBY', KEYS[3], #hSpelling)
    redis.call('SREM', KEYS[5], lower)
    freed[#freed + 1] = lower
  end
end
if #freed > 0 then
  redis.call('PUBLISH', prefix .. 'control', 'leave ' .. node .. ' ' .. table.concat(freed, ' '))
end
return {'ok', #freed, scan[1]}
