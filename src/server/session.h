// The chat state of one connection.
#pragma once

#include <cstdint>
#include <string>

#include "net/tcp_connection.h"
#include "net/timer_queue.h"
#include "protocol/frame_decoder.h"

namespace classchat::server {

// Owned by its TcpConnection (as its context); used only on that connection's loop.
struct Session final : net::ConnectionContext {
  enum class Phase : std::uint8_t {
    kAwaitingName,  // nothing read yet, or a JSON-first client's first object is incomplete
    kRegistered,
    kRefused,       // an error was sent; the connection is closing
  };

  explicit Session(std::size_t maxMessageBytes) : decoder(maxMessageBytes) {}

  protocol::FrameDecoder decoder;
  std::string name;  // the registered spelling; empty until registered
  net::TimerId handshakeTimer = 0;
  Phase phase = Phase::kAwaitingName;
  bool jsonFirst = false;  // registering through the first JSON object's from.name
};

}  // namespace classchat::server
