// libFuzzer target: MessageParser on arbitrary bytes.
//
// Invariants checked: the plain-shape shortcut agrees with the full simdjson parse (same
// success, same fields); a successful parse yields valid UTF-8 fields; writing them back
// with the frame writer and parsing that frame gives the same `to` and `msg` (round trip).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/json_writer.h"
#include "protocol/message_parser.h"
#include "protocol/plain_message.h"
#include "protocol/utf8.h"

namespace {

bool sameMessage(const classchat::protocol::ClientMessage& a,
                 const classchat::protocol::ClientMessage& b) {
  return a.to == b.to && a.hasTo == b.hasTo && a.msg == b.msg &&
         a.msgPresentButNotString == b.msgPresentButNotString && a.fromName == b.fromName;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static classchat::protocol::MessageParser parser;
  static classchat::protocol::MessageParser reparser;
  static classchat::protocol::MessageParser domParser;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  classchat::protocol::ClientMessage plain;
  if (classchat::protocol::parsePlainMessage(input, plain)) {
    const classchat::protocol::ParseResult dom = domParser.parseWithDom(input, true);
    if (!dom.message || !sameMessage(plain, *dom.message)) std::abort();
  }
  const classchat::protocol::ParseResult result = parser.parse(input);
  if (!result.message) {
    if (result.error.empty()) std::abort();
    return 0;
  }
  const classchat::protocol::ClientMessage& message = *result.message;
  if (!classchat::protocol::isValidUtf8(message.to)) std::abort();
  const std::string_view msg = message.msg.value_or("");
  if (!classchat::protocol::isValidUtf8(msg)) std::abort();

  std::string frame;
  classchat::protocol::appendMessageFrame(frame, "alice", "127.0.0.1", message.to, msg);
  if (frame.back() != '\n') std::abort();
  const classchat::protocol::ParseResult again = reparser.parse(frame);
  if (!again.message || again.message->to != message.to || again.message->msg != msg) {
    std::abort();
  }
  return 0;
}
