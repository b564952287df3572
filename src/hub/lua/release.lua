-- release.lua: frees names whose sessions ended, many in one call (one call per loop iteration).
-- A name is freed only if this node and this connection still hold it, so a late release never
-- frees a name that was re-claimed since (by another node, or another session). No epoch check:
-- freeing one's own name is always safe, fenced or not.
--
-- KEYS[1] = <prefix>names             HASH lower -> "<node> <epoch> <connection> <spelling>"
-- KEYS[2] = <prefix>online            ZSET "<lower>\0<spelling>"
-- KEYS[3] = <prefix>namebytes
-- KEYS[4] = <prefix>node:<node>:names
-- ARGV[1] = prefix (for the channel <prefix>control)
-- ARGV[2] = node id (hex)
-- ARGV[3], ARGV[4], ... = pairs: lower-case name, connection id (decimal)
--
-- Returns an array with one integer per pair, in order: 1 freed, 0 not held by this session.
-- Publishes, if anything was freed, ONE message on <prefix>control:
--   "leave <node> <lower1> <lower2> ..."   (nodes that cache routes drop these entries)
-- Errors: "ERR release: ..." on bad input.
local prefix, node = ARGV[1], ARGV[2]
if type(node) ~= 'string' or not string.match(node, '^%x+$') then
  return redis.error_reply('ERR release: node id must be hex')
end
if #ARGV % 2 ~= 0 then
  return redis.error_reply('ERR release: expected pairs of lower-case name, connection')
end
local reply, freed = {}, {}
for i = 3, #ARGV, 2 do
  local lower, connection = ARGV[i], ARGV[i + 1]
  local result = 0
  local held = redis.call('HGET', KEYS[1], lower)
  if held then
    local hNode, _, hConnection, hSpelling = string.match(held, '^(%x+) (%d+) (%d+) (.+)$')
    if hNode == node and hConnection == connection then
      redis.call('HDEL', KEYS[1], lower)
      redis.call('ZREM', KEYS[2], lower .. '\0' .. hSpelling)
      redis.call('DECRBY', KEYS[3], #hSpelling)
      redis.call('SREM', KEYS[4], lower)
      freed[#freed + 1] = lower
      result = 1
    end
  end
  reply[#reply + 1] = result
end
if #freed > 0 then
  redis.call('PUBLISH', prefix .. 'control', 'leave ' .. node .. ' ' .. table.concat(freed, ' '))
end
return reply
