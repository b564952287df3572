// Splits a connection's first read into the username and what follows it.
#pragma once

#include <string_view>

namespace classchat::protocol {

struct HandshakeSplit {
  // True when the first non-whitespace byte is '{': the client registers with the
  // from.name of its first JSON object instead of a bare name.
  bool jsonFirst = false;
  // The bare name, trimmed of surrounding whitespace (empty when jsonFirst).
  std::string_view name;
  // Bytes after the name (starting at its terminator), to be decoded as messages.
  // When jsonFirst, the whole read from the first '{'.
  std::string_view rest;
  // The name ended at a terminator ('\n', '\r' or '{'), so it is complete. False when it
  // ran to the end of the read: more of it may still be on its way (a serial bridge
  // writes a name in pieces), and the server may wait for them (--name-wait-ms).
  bool terminated = false;
};

// The name ends at the first '\n', '\r' or '{', or at the end of `firstRead`.
HandshakeSplit splitHandshake(std::string_view firstRead);

}  // namespace classchat::protocol
