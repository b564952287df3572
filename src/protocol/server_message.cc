#include "protocol/server_message.h"

#include "protocol/wire.h"

namespace classchat::protocol {
namespace {

// Reads the string at `pointer` into `out`. Absent is fine (out stays empty); present
// with another type is an error.
bool readString(simdjson::dom::element root, std::string_view pointer, std::string& out) {
  simdjson::dom::element value;
  if (root.at_pointer(pointer).get(value)) return true;
  std::string_view text;
  if (value.get_string().get(text)) return false;
  out.assign(text);
  return true;
}

}  // namespace

bool ServerMessage::fromServer() const {
  return fromName == kServerName && fromIp == kServerIp;
}

bool ServerMessage::isError() const {
  return fromServer() && msg.starts_with("Error:");
}

bool ServerMessage::isShout() const {
  return !fromServer() && to == kEveryone;
}

ServerParseResult ServerMessageParser::parse(std::string_view object) {
  ServerParseResult result;
  simdjson::dom::element root;
  if (const auto err = parser_.parse(object.data(), object.size(), true).get(root)) {
    result.error = std::string("malformed JSON (") + simdjson::error_message(err) + ")";
    return result;
  }
  if (!root.is_object()) {
    result.error = "expected a JSON object";
    return result;
  }
  ServerMessage& m = result.message;
  if (!readString(root, "/from/name", m.fromName) || !readString(root, "/from/ip", m.fromIp) ||
      !readString(root, "/to", m.to) || !readString(root, "/msg", m.msg)) {
    result.error = "a field that should be a string is not";
    return result;
  }
  result.ok = true;
  return result;
}

}  // namespace classchat::protocol
