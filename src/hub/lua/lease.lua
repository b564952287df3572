-- lease.lua: a node's liveness lease, fenced by an epoch (see ARCHITECTURE.md, "The directory
-- in Redis"). Liveness is per node, not per name: one key renewed about every second.
--
-- KEYS[1] = <prefix>epoch        counter; INCR hands out epochs, never reused while Redis lives
-- KEYS[2] = <prefix>lease:<node> the lease: holds the epoch, expires after ttl ms
-- KEYS[3] = <prefix>nodes        SET of node ids the janitor looks at
-- ARGV[1] = "acquire" | "renew" | "drop"
-- ARGV[2] = node id (hex)
-- ARGV[3] = ttl in ms (acquire, renew; ignored by drop)
-- ARGV[4] = the node's epoch (renew, drop; ignored by acquire)
--
-- Returns:
--   acquire: the new epoch (integer > 0). The old lease, if any, is replaced: names recorded
--            under an older epoch must be re-asserted (reassert.lua) before the node serves.
--   renew:   1 if the lease still held this epoch and was extended; 0 if it was lost (expired,
--            flushed, or re-acquired under another epoch): the node must fence itself.
--   drop:    1 if this epoch's lease was deleted (graceful shutdown: the janitor then frees the
--            node's names at once instead of after the ttl), 0 otherwise.
-- Errors: "ERR lease: ..." on bad input.
local op, node = ARGV[1], ARGV[2]
if type(node) ~= 'string' or not string.match(node, '^%x+$') then
  return redis.error_reply('ERR lease: node id must be hex')
end
if op == 'acquire' then
  local ttl = tonumber(ARGV[3])
  if not ttl or ttl < 1 or ttl ~= math.floor(ttl) then
    return redis.error_reply('ERR lease: ttl must be a positive integer (ms)')
  end
  local epoch = redis.call('INCR', KEYS[1])
  redis.call('SET', KEYS[2], epoch, 'PX', ttl)
  redis.call('SADD', KEYS[3], node)
  return epoch
end
local epoch = ARGV[4]
if type(epoch) ~= 'string' or not string.match(epoch, '^%d+$') then
  return redis.error_reply('ERR lease: epoch must be a decimal integer')
end
if op == 'renew' then
  local ttl = tonumber(ARGV[3])
  if not ttl or ttl < 1 or ttl ~= math.floor(ttl) then
    return redis.error_reply('ERR lease: ttl must be a positive integer (ms)')
  end
  if redis.call('GET', KEYS[2]) ~= epoch then return 0 end
  redis.call('PEXPIRE', KEYS[2], ttl)
  -- A flush between acquire and now would have emptied `nodes` too: keep it whole.
  redis.call('SADD', KEYS[3], node)
  return 1
elseif op == 'drop' then
  if redis.call('GET', KEYS[2]) ~= epoch then return 0 end
  redis.call('DEL', KEYS[2])
  return 1
end
return redis.error_reply('ERR lease: op must be acquire, renew or drop')
