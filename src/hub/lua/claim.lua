-- claim.lua: claims a name cluster-wide, ignoring case; the first claim wins. Atomic, so two
-- nodes racing for `Bob` and `bOB` get exactly one "claimed".
--
-- KEYS[1] = <prefix>names             HASH lower -> "<node> <epoch> <connection> <spelling>"
-- KEYS[2] = <prefix>online            ZSET, scores 0, member "<lower>\0<spelling>"
-- KEYS[3] = <prefix>namebytes         sum of the online spellings' lengths
-- KEYS[4] = <prefix>lease:<node>      the claimant node's lease (holds its epoch)
-- KEYS[5] = <prefix>node:<node>:names SET of the lower names the node holds
-- ARGV[1] = node id (hex)
-- ARGV[2] = the node's epoch (decimal)
-- ARGV[3] = lower-case name (must equal lower(ARGV[4]))
-- ARGV[4] = spelling as registered ([A-Za-z0-9_.-], 1..32 bytes)
-- ARGV[5] = connection id (decimal u64, opaque to Redis)
-- ARGV[6] = welcomeCount: how many other names the welcome shows (0..1000)
--
-- Returns an array:
--   {"claimed", online, s1, ..., sk}  online = ZCARD after the claim (the claimant included);
--                                     s1..sk = the first k <= welcomeCount spellings in
--                                     nameLess order, the claimant left out.
--   {"taken"}                         another connection holds the name (in any case).
--   {"fenced"}                        the lease is missing or holds another epoch: the node
--                                     must re-acquire and re-assert, nothing was written.
-- Claiming again with the same node and connection is idempotent ("claimed", epoch updated),
-- so a claim retried after a lost reply does not refuse its own session.
-- Errors: "ERR claim: ..." on bad input.
local node, epoch, lower, spelling, connection = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local welcomeCount = tonumber(ARGV[6])
if type(node) ~= 'string' or not string.match(node, '^%x+$') then
  return redis.error_reply('ERR claim: node id must be hex')
end
if type(epoch) ~= 'string' or not string.match(epoch, '^%d+$') then
  return redis.error_reply('ERR claim: epoch must be decimal')
end
if type(spelling) ~= 'string' or #spelling < 1 or #spelling > 32 or
    not string.match(spelling, '^[%w_%.%-]+$') or string.lower(spelling) ~= lower then
  return redis.error_reply('ERR claim: bad name or lower-case form')
end
if type(connection) ~= 'string' or not string.match(connection, '^%d+$') or #connection > 20 then
  return redis.error_reply('ERR claim: connection must be a decimal u64')
end
if not welcomeCount or welcomeCount < 0 or welcomeCount > 1000 or
    welcomeCount ~= math.floor(welcomeCount) then
  return redis.error_reply('ERR claim: welcomeCount must be an integer in 0..1000')
end

if redis.call('GET', KEYS[4]) ~= epoch then return {'fenced'} end

local held = redis.call('HGET', KEYS[1], lower)
if held then
  local hNode, _, hConnection, hSpelling = string.match(held, '^(%x+) (%d+) (%d+) (.+)$')
  if hNode ~= node or hConnection ~= connection then return {'taken'} end
  if hSpelling ~= spelling then
    -- Same session, new spelling (cannot happen from the server today): keep the rest whole.
    redis.call('ZREM', KEYS[2], lower .. '\0' .. hSpelling)
    redis.call('INCRBY', KEYS[3], #spelling - #hSpelling)
    redis.call('ZADD', KEYS[2], 0, lower .. '\0' .. spelling)
  end
else
  redis.call('ZADD', KEYS[2], 0, lower .. '\0' .. spelling)
  redis.call('INCRBY', KEYS[3], #spelling)
  redis.call('SADD', KEYS[5], lower)
end
redis.call('HSET', KEYS[1], lower, node .. ' ' .. epoch .. ' ' .. connection .. ' ' .. spelling)

local reply = {'claimed', redis.call('ZCARD', KEYS[2])}
if welcomeCount > 0 then
  -- One more than shown, since the claimant may be among the first.
  local first = redis.call('ZRANGE', KEYS[2], 0, welcomeCount)
  for _, member in ipairs(first) do
    local l, s = string.match(member, '^([^%z]*)%z(.*)$')
    if l ~= lower and #reply - 2 < welcomeCount then reply[#reply + 1] = s end
  end
end
return reply
