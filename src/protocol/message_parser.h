// Parses one client JSON object into the fields the server acts on.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

namespace classchat::protocol {

// The fields of a client message. Views point into the parsed object's bytes or into the
// parser: valid while both are unchanged (until the parser's next parse() call).
struct ClientMessage {
  std::string_view to;
  bool hasTo = false;                   // false only from parseForRegistration, when `to` is absent
  std::optional<std::string_view> msg;  // absent, or present but not a string: nullopt
  bool msgPresentButNotString = false;
  std::optional<std::string_view> fromName;  // from.name when it is a string
};

struct ParseResult {
  // Set on success; otherwise `error` says what is wrong, without the "Error: " prefix.
  std::optional<ClientMessage> message;
  std::string error;
};

// Wraps a reusable simdjson parser. Objects of the common plain shape are read without it
// (plain_message.h); the rest get a full simdjson DOM parse. Not thread-safe: one per
// event loop.
class MessageParser {
 public:
  ParseResult parse(std::string_view object);

  // Only reads from.name (for registration by first JSON object). `to` may be absent.
  ParseResult parseForRegistration(std::string_view object);

  // Always the full simdjson parse, never the plain-shape shortcut: the reference that
  // tests and the fuzz target hold the shortcut to.
  ParseResult parseWithDom(std::string_view object, bool requireTo);

 private:
  ParseResult parseImpl(std::string_view object, bool requireTo);
  simdjson::dom::parser parser_;
};

}  // namespace classchat::protocol
