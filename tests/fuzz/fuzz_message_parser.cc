// libFuzzer target: MessageParser on arbitrary bytes.
//
// Invariants checked: a successful parse yields valid UTF-8 fields; writing them back with
// the frame writer and parsing that frame gives the same `to` and `msg` (round trip).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/json_writer.h"
#include "protocol/message_parser.h"
#include "protocol/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static classchat::protocol::MessageParser parser;
  static classchat::protocol::MessageParser reparser;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
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
