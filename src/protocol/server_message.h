// Parses one frame the server sends: the client-side half of the contract.
#pragma once

#include <string>
#include <string_view>

#include <simdjson.h>

namespace classchat::protocol {

// One server frame, {"from":{"name":..,"ip":..},"to":..,"msg":..}. Owns its text.
struct ServerMessage {
  std::string fromName;
  std::string fromIp;
  std::string to;
  std::string msg;

  // A reply from the server itself (welcome, command reply, error).
  bool fromServer() const;
  // A server reply whose text starts with "Error:".
  bool isError() const;
  // A message another user sent to everyone with /shout.
  bool isShout() const;
};

struct ServerParseResult {
  bool ok = false;
  ServerMessage message;
  std::string error;  // why the frame was rejected, when !ok
};

// Wraps a reusable simdjson parser. Missing `from`, `to` or `msg` fields are read as
// empty strings, so a frame only fails when it is not a JSON object or a field that
// is present has the wrong type. Not thread-safe: one per connection.
class ServerMessageParser {
 public:
  ServerParseResult parse(std::string_view object);

 private:
  simdjson::dom::parser parser_;
};

}  // namespace classchat::protocol
