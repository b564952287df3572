-- reassert.lua: after a node re-acquired its lease (it was fenced, or Redis restarted or was
-- flushed), it re-claims the names of its live sessions, many in one call (a node with many
-- sessions calls it in chunks of a few thousand).
--
-- KEYS[1] = <prefix>names             HASH lower -> "<node> <epoch> <connection> <spelling>"
-- KEYS[2] = <prefix>online            ZSET "<lower>\0<spelling>"
-- KEYS[3] = <prefix>namebytes
-- KEYS[4] = <prefix>lease:<node>
-- KEYS[5] = <prefix>node:<node>:names
-- ARGV[1] = node id (hex)
-- ARGV[2] = the node's (new) epoch
-- ARGV[3], ARGV[4], ARGV[5], ... = triples: lower-case name, spelling, connection id
--
-- For each triple: a free name is claimed; a name recorded for this node (any epoch, any
-- connection: the node is the authority on its own sessions) is rewritten with this epoch and
-- connection; a name held by another node is left alone and reported.
-- Returns:
--   {"ok", i1, i2, ...}  the 1-based indexes of the triples (1 = ARGV[3..5]) whose name another
--                        node holds: the node disconnects those sessions.
--   {"fenced"}           the lease is missing or holds another epoch; nothing was written.
-- Errors: "ERR reassert: ..." on bad input (checked before anything is written).
local node, epoch = ARGV[1], ARGV[2]
if type(node) ~= 'string' or not string.match(node, '^%x+$') then
  return redis.error_reply('ERR reassert: node id must be hex')
end
if type(epoch) ~= 'string' or not string.match(epoch, '^%d+$') then
  return redis.error_reply('ERR reassert: epoch must be decimal')
end
if (#ARGV - 2) % 3 ~= 0 then
  return redis.error_reply('ERR reassert: expected triples of lower, spelling, connection')
end
for i = 3, #ARGV, 3 do
  local lower, spelling, connection = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if #spelling < 1 or #spelling > 32 or not string.match(spelling, '^[%w_%.%-]+$') or
      string.lower(spelling) ~= lower or not string.match(connection, '^%d+$') then
    return redis.error_reply('ERR reassert: bad triple at index ' .. ((i - 3) / 3 + 1))
  end
end
if redis.call('GET', KEYS[4]) ~= epoch then return {'fenced'} end

local reply = {'ok'}
for i = 3, #ARGV, 3 do
  local lower, spelling, connection = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local held = redis.call('HGET', KEYS[1], lower)
  local mine = true
  if held then
    local hNode, _, _, hSpelling = string.match(held, '^(%x+) (%d+) (%d+) (.+)$')
    if hNode ~= node then
      mine = false
    elseif hSpelling ~= spelling then
      redis.call('ZREM', KEYS[2], lower .. '\0' .. hSpelling)
      redis.call('INCRBY', KEYS[3], #spelling - #hSpelling)
      redis.call('ZADD', KEYS[2], 0, lower .. '\0' .. spelling)
    end
  else
    redis.call('ZADD', KEYS[2], 0, lower .. '\0' .. spelling)
    redis.call('INCRBY', KEYS[3], #spelling)
  end
  if mine then
    redis.call('HSET', KEYS[1], lower, node .. ' ' .. epoch .. ' ' .. connection .. ' ' .. spelling)
    redis.call('SADD', KEYS[5], lower)
  else
    reply[#reply + 1] = (i - 3) / 3 + 1
  end
end
return reply
