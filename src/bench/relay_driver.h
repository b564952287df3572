// classchat-relay's binary protocol (src/bench/relay/relay_protocol.h) as a bench Driver.
#pragma once

#include "bench/driver.h"

namespace classchat::bench {

// Login is a kLogin frame with the name and the relay's kWelcome is the welcome. A direct
// message is a kDirect frame naming the recipient; the relay stamps the sender's name on
// the kDeliver it forwards, so `from` is not sent. A shout is a kShout frame, delivered to
// every other logged-in client as kBroadcast (the sender gets none, as in classchat; the
// relay has no subscriptions, so DriverOptions::receiveShouts changes nothing). The
// heartbeat is the default, a direct message to oneself; kPong is a kReply.
//
// A frame header that is not the relay's (unknown type or a length over kMaxBody) leaves
// no way to find the next frame: it is reported once as kMalformed and all the input is
// consumed. A frame of a client-to-relay type, or a kDeliver whose name runs past its
// body, is kMalformed and skipped.
//
// Thread-safety: none needed; the driver holds no state.
class RelayDriver final : public Driver {
 public:
  explicit RelayDriver(const DriverOptions&) {}

  std::string_view name() const override { return "relay"; }
  void appendLogin(std::string& out, std::string_view user) override;
  void appendDirect(std::string& out, std::string_view from, std::string_view to,
                    std::string_view text) override;
  void appendShout(std::string& out, std::string_view from, std::string_view text) override;
  bool appendCommand(std::string&, std::string_view, std::string_view) override { return false; }
  bool shoutIsAcknowledged() const override { return false; }
  std::size_t parse(std::string_view input, IncomingSink& sink) override;
};

}  // namespace classchat::bench
