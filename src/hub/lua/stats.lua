-- stats.lua: what /list needs, consistent, in one call: the count, the sum of name lengths,
-- the asker's rank, and one page of names. O(log N + page), never O(N).
--
-- KEYS[1] = <prefix>online     ZSET, scores 0, member "<lower>\0<spelling>"
-- KEYS[2] = <prefix>namebytes
-- ARGV[1] = the asker's spelling, or "" (no rank wanted)
-- ARGV[2] = first rank of the page (0-based)
-- ARGV[3] = page size (0..1000; 0 = no page)
--
-- Returns {online, namebytes, rank, s1, ..., sk}: rank = the asker's 0-based rank in nameLess
-- order, or -1 if ARGV[1] is "" or not online with that spelling; s1..sk = the spellings of
-- ranks first .. first+k-1 (k <= page size, fewer at the end).
-- A page alone is plain `ZRANGE <prefix>online first last` (members "<lower>\0<spelling>":
-- the spelling is what follows the NUL); this script exists so the header and the page agree.
-- Errors: "ERR stats: ..." on bad input.
local spelling = ARGV[1]
local first, size = tonumber(ARGV[2]), tonumber(ARGV[3])
if type(spelling) ~= 'string' or not first or first < 0 or first ~= math.floor(first) or
    not size or size < 0 or size > 1000 or size ~= math.floor(size) then
  return redis.error_reply('ERR stats: expected spelling, first >= 0, size in 0..1000')
end
local rank = -1
if #spelling > 0 then
  local r = redis.call('ZRANK', KEYS[1], string.lower(spelling) .. '\0' .. spelling)
  if r then rank = r end
end
local reply = {redis.call('ZCARD', KEYS[1]), tonumber(redis.call('GET', KEYS[2]) or '0'), rank}
if size > 0 then
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], first, first + size - 1)) do
    reply[#reply + 1] = string.match(member, '%z(.*)$')
  end
end
return reply
