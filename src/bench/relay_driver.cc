#include "bench/relay_driver.h"

#include "bench/relay/relay_protocol.h"

namespace classchat::bench {
namespace {

using relay::FrameType;

constexpr std::size_t kQuoteBytes = 100;

void report(IncomingSink& sink, Incoming::Kind kind, std::string_view text,
            std::string_view from = {}) {
  Incoming incoming;
  incoming.kind = kind;
  incoming.from = from;
  incoming.text = text;
  sink.onIncoming(incoming);
}

// A kDeliver or kBroadcast body: u8 n, sender[n], text.
void reportMessage(IncomingSink& sink, Incoming::Kind kind, std::string_view body) {
  std::string_view from, text;
  if (relay::splitNamed(body, from, text)) {
    report(sink, kind, text, from);
  } else {
    report(sink, Incoming::Kind::kMalformed, body.substr(0, kQuoteBytes));
  }
}

}  // namespace

void RelayDriver::appendLogin(std::string& out, std::string_view user) {
  relay::appendFrame(out, FrameType::kLogin, user);
}

void RelayDriver::appendDirect(std::string& out, std::string_view, std::string_view to,
                               std::string_view text) {
  relay::appendNamedFrame(out, FrameType::kDirect, to, text);
}

void RelayDriver::appendShout(std::string& out, std::string_view, std::string_view text) {
  relay::appendFrame(out, FrameType::kShout, text);
}

std::size_t RelayDriver::parse(std::string_view input, IncomingSink& sink) {
  std::size_t consumed = 0;
  while (input.size() - consumed >= relay::kHeaderBytes) {
    const relay::FrameHeader header = relay::readHeader(input.data() + consumed);
    const auto type = static_cast<FrameType>(header.type);
    if (header.length > relay::kMaxBody || header.type == 0 || type > FrameType::kError) {
      report(sink, Incoming::Kind::kMalformed, input.substr(consumed, kQuoteBytes));
      return input.size();
    }
    if (input.size() - consumed - relay::kHeaderBytes < header.length) break;
    const std::string_view body = input.substr(consumed + relay::kHeaderBytes, header.length);
    consumed += relay::kHeaderBytes + header.length;
    switch (type) {
      case FrameType::kWelcome:
        report(sink, Incoming::Kind::kWelcome, body);
        break;
      case FrameType::kDeliver:
        reportMessage(sink, Incoming::Kind::kDirect, body);
        break;
      case FrameType::kBroadcast:
        reportMessage(sink, Incoming::Kind::kShout, body);
        break;
      case FrameType::kPong:
        report(sink, Incoming::Kind::kReply, body);
        break;
      case FrameType::kError:
        report(sink, Incoming::Kind::kError, body);
        break;
      default:  // a client-to-relay frame
        report(sink, Incoming::Kind::kMalformed, body.substr(0, kQuoteBytes));
        break;
    }
  }
  return consumed;
}

}  // namespace classchat::bench
