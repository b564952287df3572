// One WebSocket connection's framing (RFC 6455), on our own buffers: wslay's frame API
// parses frame headers and unmasks payloads; this class assembles messages, enforces the
// protocol's rules and our limits, answers control frames, and writes the text frames the
// application sends, one frame per send().
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/buffer.h"
#include "net/tcp_connection.h"

struct wslay_frame_context;

namespace classchat::transport {

// Close codes (RFC 6455 section 7.4.1) the server sends.
enum WebSocketCloseCode : std::uint16_t {
  kWsNormal = 1000,
  kWsGoingAway = 1001,  // the server is shutting down
  kWsProtocolError = 1002,
  kWsUnsupportedData = 1003,  // a binary message: the chat is text
  kWsInvalidPayload = 1007,   // a text message that is not UTF-8
  kWsPolicy = 1008,           // refused, kicked, flooding, idle
  kWsTooBig = 1009,           // a message over --max-message-bytes
  kWsInternalError = 1011,
};

// The application above the framing: the chat session.
class WebSocketListener {
 public:
  virtual ~WebSocketListener() = default;
  // One whole text message. The view is valid only during the call.
  virtual void onWebSocketText(net::TcpConnection& connection, std::string_view text) = 0;
  // The close code for a close the application started (closeAfterFlush).
  virtual std::uint16_t webSocketCloseCode(const net::TcpConnection& connection) = 0;
};

// Follows a client's frame headers, only to know whether the bytes seen so far end
// between messages: then a WebSocketSession may drop its wslay context (several KiB)
// and start a fresh one with the next byte. Not a validator: wslay checks the frames.
class WebSocketFrameBoundary {
 public:
  void feed(std::string_view bytes);
  // No partial header or payload, and no fragmented message left open.
  bool atMessageBoundary() const { return headerSize_ == 0 && payloadLeft_ == 0 && !fragmented_; }

 private:
  std::array<std::uint8_t, 14> header_{};
  std::size_t headerSize_ = 0;
  std::uint64_t payloadLeft_ = 0;
  bool fragmented_ = false;  // a data frame without FIN was seen, its last part not yet
};

// Owned by the connection's context (it must outlive every send on the connection), and
// installed as the connection's OutputFraming, so everything the application send()s goes
// out as one unmasked text frame. Thread-safety: none; the connection's loop only.
class WebSocketSession final : public net::OutputFraming {
 public:
  WebSocketSession(net::TcpConnection& connection, WebSocketListener& listener,
                   std::size_t maxMessageBytes);
  ~WebSocketSession() override;
  WebSocketSession(const WebSocketSession&) = delete;
  WebSocketSession& operator=(const WebSocketSession&) = delete;

  // Bytes read from the socket: whole text messages go to the listener, pings are
  // answered, and a close, a protocol error, a binary message or one over the limit ends
  // the connection with the matching close frame. A read that ends between messages
  // releases the wslay context, so an idle WebSocket holds no parser state.
  void receive(std::string_view bytes);
  // Called every ping interval. A connection silent since the last call is pinged, so
  // that it (and any proxy on its way) stays alive; false if it stayed silent through
  // the previous ping too: the peer is gone.
  bool heartbeat();
  // Whether a wslay frame context is held (for tests and memory accounting).
  bool holdsParser() const { return ctx_ != nullptr; }

  // net::OutputFraming
  void frame(std::string_view payload, net::Buffer& out) override;
  void beforeDrain(net::TcpConnection& connection, std::string_view reason) override;

  // Appends one unmasked frame (FIN set) of `opcode` to `out`: what a server sends.
  static void appendFrame(std::uint8_t opcode, std::string_view payload, std::string& out);
  // A close frame's payload: the code and at most 123 bytes of reason, cut on a UTF-8
  // boundary.
  static std::string closePayload(std::uint16_t code, std::string_view reason);

 private:
  static ssize_t recvCallback(std::uint8_t* buf, std::size_t len, int flags, void* user);
  // One piece of a frame's payload from wslay (the whole frame when it fits): false once
  // the connection is closing.
  bool onChunk(std::uint8_t opcode, bool fin, std::uint8_t rsv, bool masked,
               std::uint64_t payloadLength, std::string_view data);
  bool startFrame(std::uint8_t opcode, bool fin, std::uint8_t rsv, bool masked,
                  std::uint64_t payloadLength);
  void deliver(std::string_view text);
  void onControl(std::uint8_t opcode);
  void closeWith(std::uint16_t code, std::string_view reason);
  bool createParser();
  void releaseParserIfIdle();

  net::TcpConnection& connection_;
  WebSocketListener& listener_;
  wslay_frame_context* ctx_ = nullptr;  // created on demand, released when idle
  std::size_t maxMessageBytes_;
  WebSocketFrameBoundary boundary_;
  std::uint64_t frameLeft_ = 0;     // payload bytes of the current frame not yet seen
  std::uint64_t messageBytes_ = 0;  // of the message being received, all fragments
  std::uint8_t messageOpcode_ = 0;  // text while a message is open, 0 between messages
  std::string message_;             // a message that did not arrive as one whole frame
  std::string control_;             // a control frame's payload (at most 125 bytes)
  std::string_view input_;          // the read being parsed, during receive()
  bool heardFrom_ = false;          // bytes arrived since the last heartbeat
  bool pingPending_ = false;        // a ping went out and nothing arrived since
  std::string scratch_;             // reused for control frames
};

}  // namespace classchat::transport
