-- shout.lua: publishes the shouts one loop produced in one iteration on the shared channel and
-- counts who hears them ("Message sent to N users").
--
-- KEYS[1] = <prefix>online  ZSET of online names
-- ARGV[1] = prefix (channel <prefix>shout)
-- ARGV[2] = payload: opaque bytes (the node's own framing of many shouts), published as is in
--           one PUBLISH. An empty payload publishes nothing (a count-only call).
-- Returns ZCARD of online: everyone registered cluster-wide, the shouters included; the node
-- subtracts what its reply should not count.
if type(ARGV[2]) ~= 'string' then return redis.error_reply('ERR shout: expected prefix, payload') end
if #ARGV[2] > 0 then redis.call('PUBLISH', ARGV[1] .. 'shout', ARGV[2]) end
return redis.call('ZCARD', KEYS[1])
