// The NATS client protocol (nats-server) as a bench Driver, for issue #6's side-by-side runs.
#pragma once

#include "bench/driver.h"

namespace classchat::bench {

// Users map onto subjects: a client named U subscribes to `u.U` (sid 1) for direct
// messages and, when DriverOptions::receiveShouts is set, to `all` for shouts. NATS does
// not stamp the sender, so every publish carries it in the reply-to field:
//
//   login      CONNECT {"verbose":false,"pedantic":false,"echo":true,"name":"U"}
//              SUB u.U 1            (+ SUB all U   when receiveShouts)
//              PING
//   direct     PUB u.TO FROM <n>\r\n<text>\r\n    arrives as  MSG u.TO 1 FROM <n>
//   shout      PUB all FROM <n>\r\n<text>\r\n     arrives as  MSG all U FROM <n>
//   heartbeat  a direct message to oneself
//
// Welcome: the server answers the PING after it has processed CONNECT and the SUBs, so
// the PONG means "registered, can send and receive". The driver sends no other PING, so
// every PONG is reported as kWelcome and there is exactly one per connection.
//
// Echo and own shouts: classchat does not deliver a shout to its sender, and the bench's
// accounting expects that. `"echo":false` would suppress own shouts, but it also
// suppresses the heartbeat (a publish to the connection's own subject), and a stateless
// parse() cannot tell which connection it reads for. So the login uses `"echo":true` and
// names the shout subscription's sid after the user: a shout whose reply-to (its sender)
// equals the sid is the reader's own shout and is consumed without an event. The server
// does deliver that one extra copy per shout (1 in N+1 deliveries); it is not counted.
//
// Other server lines: INFO and server PING are kReply (the driver cannot answer a PING,
// parse() has no output, so the server must be configured with a long ping_interval; see
// scripts/bench/nats_peers.py), -ERR is kError, +OK is ignored, anything else kMalformed,
// as is a control line longer than kMaxControlLine or a payload over kMaxPayload.
//
// Thread-safety: none needed; the driver holds no state besides its options.
class NatsDriver final : public Driver {
 public:
  static constexpr std::size_t kMaxControlLine = 4096;
  static constexpr std::size_t kMaxPayload = 64 * 1024 * 1024;

  explicit NatsDriver(const DriverOptions& options) : options_(options) {}

  std::string_view name() const override { return "nats"; }
  void appendLogin(std::string& out, std::string_view user) override;
  void appendDirect(std::string& out, std::string_view from, std::string_view to,
                    std::string_view text) override;
  void appendShout(std::string& out, std::string_view from, std::string_view text) override;
  bool appendCommand(std::string&, std::string_view, std::string_view) override { return false; }
  bool shoutIsAcknowledged() const override { return false; }
  std::size_t parse(std::string_view input, IncomingSink& sink) override;

 private:
  DriverOptions options_;
};

}  // namespace classchat::bench
