-- route.lua: routes many direct messages (everything one loop sends in one iteration) to the
-- inbox channels of the recipients' nodes, in ONE call.
--
-- KEYS[1] = <prefix>names   HASH lower -> "<node> <epoch> <connection> <spelling>"
-- ARGV[1] = prefix (channels <prefix>inbox:<node>)
-- ARGV[2], ARGV[3], ... = pairs: recipient's lower-case name, envelope (opaque bytes, built
--           and stamped with the sender's name and ip by the sender's node)
--
-- For each pair, looks up the owner; groups the records by owner node, keeping their order;
-- then one PUBLISH per owner node, to <prefix>inbox:<node>, of its records concatenated:
--   "m <connection> <spelling> <length>\n<envelope>"
-- connection = the recipient's connection id (decimal), spelling = its registered spelling,
-- length = the envelope's byte count (decimal). A receiver parses records until the payload
-- ends; no other lookup is needed to deliver.
-- Returns an array of the 1-based indexes of the pairs (1 = ARGV[2..3]) whose recipient is not
-- online anywhere (empty array: all found): the sender's node answers "not found" for those.
-- Errors: "ERR route: ..." on bad input.
local prefix = ARGV[1]
if #ARGV % 2 ~= 1 then
  return redis.error_reply('ERR route: expected pairs of lower-case name, envelope')
end
local order, records, missing = {}, {}, {}
for i = 2, #ARGV, 2 do
  local held = redis.call('HGET', KEYS[1], ARGV[i])
  if held then
    local node, _, connection, spelling = string.match(held, '^(%x+) (%d+) (%d+) (.+)$')
    local list = records[node]
    if not list then
      list = {}
      records[node] = list
      order[#order + 1] = node
    end
    local envelope = ARGV[i + 1]
    list[#list + 1] = 'm ' .. connection .. ' ' .. spelling .. ' ' .. #envelope .. '\n'
    list[#list + 1] = envelope
  else
    missing[#missing + 1] = i / 2
  end
end
for _, node in ipairs(order) do
  redis.call('PUBLISH', prefix .. 'inbox:' .. node, table.concat(records[node]))
end
return missing
