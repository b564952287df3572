// classchat over WebSocket (classchatd's GET /ws): the classchat driver behind a
// client-side RFC 6455 framing, so every mode runs over either transport unchanged.
#pragma once

#include <cstdint>
#include <string>

#include "bench/classchat_driver.h"
#include "bench/websocket_framing.h"

namespace classchat::bench {

// The login is the upgrade request followed at once by the name in one masked text
// frame (classchatd keeps bytes sent after the request head); every request is one masked
// text frame holding one JSON object. parse() reads the 101 (checking
// Sec-WebSocket-Accept), then the server's frames: each text message is one JSON object
// for ClassChatDriver::parseFrame; a ping is answered with a pong and a close with a
// close, both through IncomingSink::sendRaw; a close or a framing error ends the
// connection through IncomingSink::closeConnection. Fragmented messages are read once
// their last fragment has arrived (nothing is consumed before), so the driver keeps no
// state per connection, like every Driver.
//
// One Sec-WebSocket-Key per driver (per engine), not per connection: the server does not
// care, and the expected accept is computed once.
//
// Not thread-safe: one per engine.
class WebSocketDriver final : public Driver {
 public:
  // `host` is the Host header, "address:port". `seed` makes the key and masks.
  WebSocketDriver(std::string host, std::uint64_t seed);

  std::string_view name() const override { return "classchat-ws"; }
  void appendLogin(std::string& out, std::string_view user) override;
  void appendDirect(std::string& out, std::string_view from, std::string_view to,
                    std::string_view text) override;
  void appendShout(std::string& out, std::string_view from, std::string_view text) override;
  bool appendCommand(std::string& out, std::string_view command, std::string_view arg) override;
  bool shoutIsAcknowledged() const override { return true; }
  std::size_t parse(std::string_view input, IncomingSink& sink) override;

 private:
  void frameScratch(std::string& out);
  void deliver(std::string_view message, IncomingSink& sink);

  ClassChatDriver inner_;
  WebSocketFraming framing_;
  std::string host_;
  std::string key_;
  std::string expectedAccept_;
  std::string scratch_;  // the inner driver's JSON before framing
  std::string message_;  // a fragmented message's pieces joined
};

}  // namespace classchat::bench
