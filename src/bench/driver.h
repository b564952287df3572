// The protocol adapter between the load engine and a chat server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace classchat::bench {

// One frame from the server, classified. Views are valid only during the callback.
struct Incoming {
  enum class Kind : std::uint8_t {
    kWelcome,    // registration accepted
    kReply,      // a server reply to a command (not an error)
    kError,      // a server error (before registration: a refusal)
    kDirect,     // a message from a user to this client
    kShout,      // a message from a user to everyone
    kMalformed,  // bytes that are not a frame of the protocol
  };
  Kind kind = Kind::kMalformed;
  std::string_view from;  // sender's name (users' messages)
  std::string_view text;  // message text, unescaped
};

// How a driver logs clients in, chosen per run.
struct DriverOptions {
  // The run uses shouts: log in so that shouts reach this client (IRC: JOIN the channel;
  // NATS: subscribe to the shout subject). Off for direct-only runs, so that logins stay
  // as cheap as the protocol allows. classchat delivers shouts to everyone regardless.
  bool receiveShouts = false;
};

// How a driver reaches the server, chosen per run (--transport).
struct TransportOptions {
  // Non-empty: speak classchat over WebSocket (GET /ws) with this Host header,
  // "address:port" (websocket_driver.h). Empty: plain TCP.
  std::string webSocketHost;
  std::uint64_t seed = 1;  // the WebSocket key and masks
};

class IncomingSink {
 public:
  virtual ~IncomingSink() = default;
  virtual void onIncoming(const Incoming& incoming) = 0;
  // Transport-level answers that are not the scenario's business: bytes to write back
  // to the server at once (a WebSocket pong), and the transport's own end of the
  // connection (a WebSocket close or a framing error). Sinks without a connection ignore
  // them.
  virtual void sendRaw(std::string_view /*bytes*/) {}
  virtual void closeConnection(std::string_view /*reason*/) {}
};

// Turns what the bench wants to do into bytes, and bytes from the server into Incoming
// events. One implementation per server protocol (classchat's JSON contract here; IRC,
// IRC, NATS and the benchmark's raw relay behind the same interface; driver_factory.h).
//
// Thread-safety: none; each engine (thread) owns its own driver. Connection state that
// a protocol needs lives in the engine's client, not here: the driver is stateless
// between calls apart from scratch buffers.
class Driver {
 public:
  virtual ~Driver() = default;
  virtual std::string_view name() const = 0;

  // The bytes that register `user`, sent alone right after connecting.
  virtual void appendLogin(std::string& out, std::string_view user) = 0;
  // `from` is the sending client's own name: protocols that do not stamp the sender
  // (NATS, the relay) carry it in the message.
  virtual void appendDirect(std::string& out, std::string_view from, std::string_view to,
                            std::string_view text) = 0;
  virtual void appendShout(std::string& out, std::string_view from, std::string_view text) = 0;
  // A heartbeat whose echo comes back to `self` as a kDirect from `self` carrying `text`.
  virtual void appendHeartbeat(std::string& out, std::string_view self, std::string_view text) {
    appendDirect(out, self, self, text);
  }
  // Bytes to send in answer to a kReply that arrives during the login (before kWelcome),
  // for logins that need more than one round trip: IRC joins the shout channel once the
  // server has registered the client (InspIRCd refuses a JOIN sent along with NICK/USER).
  virtual void appendLoginReply(std::string& /*out*/, const Incoming& /*reply*/) {}
  // A server command such as "/time" or "/list". Returns false if the protocol has none.
  virtual bool appendCommand(std::string& out, std::string_view command, std::string_view arg) = 0;
  // Whether the server acknowledges a shout with a reply to its sender.
  virtual bool shoutIsAcknowledged() const = 0;

  // Reports every complete frame at the front of `input` to `sink`; returns the bytes
  // consumed. The rest (an incomplete frame) is passed again with more bytes appended.
  virtual std::size_t parse(std::string_view input, IncomingSink& sink) = 0;
};

}  // namespace classchat::bench
