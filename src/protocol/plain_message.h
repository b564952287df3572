// The common shape of a client message, read without a JSON parser.
#pragma once

#include <string_view>

#include "protocol/message_parser.h"

namespace classchat::protocol {

// Reads `object` (one complete top-level object, as the frame decoder reports it) when it
// has the shape nearly every client sends:
//
//   {"from": {"name": "alice", "ip": "10.0.0.5"}, "to": "bob", "msg": "hi"}
//
// that is, members in any order, any JSON whitespace between tokens, and every value a
// string with no escape sequence (or, for "from", an object of such strings). Such a
// string's value is its bytes, so the views in `out` point into `object` and no decoding
// or copying is needed.
//
// Returns false, leaving `out` unspecified, for anything else: escapes, numbers, arrays,
// nested objects elsewhere, a repeated "from", "to", "msg" or "name", no "to", invalid
// UTF-8, or malformed JSON. The caller then runs the full parser, which decides and
// words the error. When it returns true, `out` is exactly what the full parser would
// produce (the message parser's fuzz target checks this on every input).
//
// Why: simdjson's DOM parse (two passes and a tape) was 16% of the server's CPU under
// pipelined direct messages, for objects this scan reads in one pass.
//
// Pure function; thread-safe.
bool parsePlainMessage(std::string_view object, ClientMessage& out);

}  // namespace classchat::protocol
