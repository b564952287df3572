-- janitor.lua: frees the names of dead nodes (lease key gone), at most `limit` names per call,
-- so that a dead node with 1M names never blocks Redis for long: any node may call it about
-- once a second, and again at once while it answers more = 1. Idempotent and safe to run on
-- several nodes at once (each call is atomic).
--
-- KEYS[1] = <prefix>nodes      SET of node ids
-- KEYS[2] = <prefix>names      HASH lower -> "<node> <epoch> <connection> <spelling>"
-- KEYS[3] = <prefix>online     ZSET "<lower>\0<spelling>"
-- KEYS[4] = <prefix>namebytes
-- ARGV[1] = prefix: the per-node keys <prefix>lease:<node> and <prefix>node:<node>:names are
--           derived from the node ids found in `nodes`, so they cannot be declared in KEYS
--           (fine on one Redis instance, which is all classchat supports; not cluster-safe).
-- ARGV[2] = limit: at most this many names freed per call (1..100000)
--
-- A name is freed only if its record still names the dead node: a name re-claimed by a live
-- node in the meantime is only dropped from the dead node's set. A dead node whose set is
-- empty is removed from `nodes`.
-- Returns {freed, more}: freed = names freed by this call; more = 1 if a dead node still has
-- names left (call again), else 0.
-- Publishes, per dead node with freed names, one "leave <node> <lower1> ..." on
-- <prefix>control.
-- Errors: "ERR janitor: ..." on bad input.
local prefix = ARGV[1]
local limit = tonumber(ARGV[2])
if not limit or limit < 1 or limit > 100000 or limit ~= math.floor(limit) then
  return redis.error_reply('ERR janitor: limit must be an integer in 1..100000')
end
local freedTotal, more, budget = 0, 0, limit
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', prefix .. 'lease:' .. node) == 0 then
    local setKey = prefix .. 'node:' .. node .. ':names'
    if budget == 0 then
      -- Out of budget: only tell whether this dead node still has work left.
      if redis.call('SCARD', setKey) > 0 then more = 1 else redis.call('SREM', KEYS[1], node) end
    else
      local popped = redis.call('SPOP', setKey, budget)
      budget = budget - #popped
      local freed = {}
      for _, lower in ipairs(popped) do
        local held = redis.call('HGET', KEYS[2], lower)
        if held then
          local hNode, _, _, hSpelling = string.match(held, '^(%x+) (%d+) (%d+) (.+)$')
          if hNode == node then
            redis.call('HDEL', KEYS[2], lower)
            redis.call('ZREM', KEYS[3], lower .. '\0' .. hSpelling)
            redis.call('DECRBY', KEYS[4], #hSpelling)
            freed[#freed + 1] = lower
          end
        end
      end
      if #freed > 0 then
        redis.call('PUBLISH', prefix .. 'control', 'leave ' .. node .. ' ' .. table.concat(freed, ' '))
        freedTotal = freedTotal + #freed
      end
      if redis.call('SCARD', setKey) > 0 then more = 1 else redis.call('SREM', KEYS[1], node) end
    end
  end
end
return {freedTotal, more}
