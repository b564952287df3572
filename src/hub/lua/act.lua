-- act.lua: sends a moderation action (kick, mute, ...: an opaque record the nodes agree on) to
-- the node holding a name, addressed to the session holding it.
--
-- KEYS[1] = <prefix>names   HASH lower -> "<node> <epoch> <connection> <spelling>"
-- ARGV[1] = prefix (channel <prefix>inbox:<node>)
-- ARGV[2] = target's lower-case name
-- ARGV[3] = action (opaque bytes)
--
-- Publishes to <prefix>inbox:<owner node> one record with the same header as route.lua's, kind
-- "a" instead of "m":  "a <connection> <spelling> <length>\n<action>"
-- Returns 1 if the name is online (the record was published), 0 if not.
local held = redis.call('HGET', KEYS[1], ARGV[2])
if not held then return 0 end
local action = ARGV[3]
if type(action) ~= 'string' then return redis.error_reply('ERR act: expected name, action') end
local node, _, connection, spelling = string.match(held, '^(%x+) (%d+) (%d+) (.+)$')
redis.call('PUBLISH', ARGV[1] .. 'inbox:' .. node,
           'a ' .. connection .. ' ' .. spelling .. ' ' .. #action .. '\n' .. action)
return 1
