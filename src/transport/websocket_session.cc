#include "transport/websocket_session.h"

#include <wslay/wslay.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace classchat::transport {
namespace {

constexpr std::uint8_t kText = WSLAY_TEXT_FRAME;
constexpr std::size_t kMaxHeaderBytes = 10;  // a server's frames are not masked

// Writes the header of an unmasked final frame into `out`; returns its length.
std::size_t frameHeader(std::uint8_t opcode, std::size_t size, char* out) {
  out[0] = static_cast<char>(0x80 | opcode);
  if (size < 126) {
    out[1] = static_cast<char>(size);
    return 2;
  }
  if (size <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<char>(size >> 8);
    out[3] = static_cast<char>(size & 0xFF);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<char>((size >> (56 - 8 * i)) & 0xFF);
  return 10;
}

}  // namespace

void WebSocketFrameBoundary::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    if (payloadLeft_ > 0) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(payloadLeft_, bytes.size()));
      payloadLeft_ -= n;
      bytes.remove_prefix(n);
      continue;
    }
    header_[headerSize_++] = static_cast<std::uint8_t>(bytes.front());
    bytes.remove_prefix(1);
    if (headerSize_ < 2) continue;
    const std::uint8_t lengthCode = header_[1] & 0x7F;
    const std::size_t extended = lengthCode == 126 ? 2 : lengthCode == 127 ? 8 : 0;
    const std::size_t needed = 2 + extended + ((header_[1] & 0x80) != 0 ? 4 : 0);
    if (headerSize_ < needed) continue;
    std::uint64_t length = lengthCode;
    if (extended > 0) {
      length = 0;
      for (std::size_t i = 0; i < extended; ++i) length = length << 8 | header_[2 + i];
    }
    const bool fin = (header_[0] & 0x80) != 0;
    const std::uint8_t opcode = header_[0] & 0x0F;
    if (opcode == WSLAY_TEXT_FRAME || opcode == WSLAY_BINARY_FRAME) {
      fragmented_ = !fin;
    } else if (opcode == WSLAY_CONTINUATION_FRAME && fin) {
      fragmented_ = false;
    }
    payloadLeft_ = length;
    headerSize_ = 0;
  }
}

WebSocketSession::WebSocketSession(net::TcpConnection& connection, WebSocketListener& listener,
                                   std::size_t maxMessageBytes)
    : connection_(connection), listener_(listener), maxMessageBytes_(maxMessageBytes) {
  connection_.setOutputFraming(this);
}

bool WebSocketSession::createParser() {
  wslay_event_callbacks callbacks{};
  callbacks.recv_callback = [](wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len,
                               int flags, void* user) -> ssize_t {
    return recvCallback(ctx, buf, len, flags, user);
  };
  callbacks.send_callback = [](wslay_event_context_ptr ctx, const std::uint8_t* data,
                               std::size_t len, int flags, void* user) -> ssize_t {
    return sendCallback(ctx, data, len, flags, user);
  };
  callbacks.on_msg_recv_callback = [](wslay_event_context_ptr ctx,
                                      const wslay_event_on_msg_recv_arg* arg,
                                      void* user) { onMessage(ctx, arg, user); };
  if (wslay_event_context_server_init(&ctx_, &callbacks, this) != 0) {
    ctx_ = nullptr;
    return false;
  }
  wslay_event_config_set_max_recv_msg_length(ctx_, maxMessageBytes_);
  return true;
}

WebSocketSession::~WebSocketSession() {
  if (ctx_ != nullptr) wslay_event_context_free(ctx_);
}

ssize_t WebSocketSession::recvCallback(wslay_event_context* ctx, std::uint8_t* buf, std::size_t len,
                                       int /*flags*/, void* user) {
  auto* self = static_cast<WebSocketSession*>(user);
  if (self->input_.empty()) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  const std::size_t n = std::min(len, self->input_.size());
  std::memcpy(buf, self->input_.data(), n);
  self->input_.remove_prefix(n);
  return static_cast<ssize_t>(n);
}

ssize_t WebSocketSession::sendCallback(wslay_event_context* ctx, const std::uint8_t* data,
                                       std::size_t len, int /*flags*/, void* user) {
  auto* self = static_cast<WebSocketSession*>(user);
  // The connection's output queue takes everything (or the connection is gone): wslay
  // never holds half a frame, so our own frames can follow its control frames directly.
  if (self->connection_.sendUnframed(std::string_view(reinterpret_cast<const char*>(data), len)) !=
      net::TcpConnection::SendStatus::kQueued) {
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return static_cast<ssize_t>(len);
}

void WebSocketSession::onMessage(wslay_event_context* /*ctx*/, const void* rawArg, void* user) {
  auto* self = static_cast<WebSocketSession*>(user);
  const auto* arg = static_cast<const wslay_event_on_msg_recv_arg*>(rawArg);
  if (self->connection_.state() != net::TcpConnection::State::kOpen) return;
  if (arg->opcode == WSLAY_TEXT_FRAME) {
    self->listener_.onWebSocketText(
        self->connection_,
        std::string_view(reinterpret_cast<const char*>(arg->msg), arg->msg_length));
  } else if (arg->opcode == WSLAY_BINARY_FRAME) {
    self->closeWith(kWsUnsupportedData, "binary messages are not accepted: send JSON as text");
  }
  // Ping (answered by wslay), pong and close (answered by wslay) need nothing more here.
}

void WebSocketSession::receive(std::string_view bytes) {
  if (ctx_ == nullptr && !createParser()) {
    connection_.close("websocket: out of memory");
    return;
  }
  heardFrom_ = true;
  boundary_.feed(bytes);
  input_ = bytes;
  const int rv = wslay_event_recv(ctx_);
  input_ = {};
  if (rv != 0 && connection_.state() == net::TcpConnection::State::kOpen) {
    closeWith(kWsInternalError, "websocket: cannot read");
    return;
  }
  flushControl();
  releaseParserIfIdle();
}

void WebSocketSession::releaseParserIfIdle() {
  // Between messages wslay holds nothing we need: give its buffers back (about 8.8 KiB)
  // and start a fresh context with the next byte. Done after every read that ends
  // between messages, so an idle WebSocket holds no parser, and the allocator hands the
  // same warm block to the next connection that reads.
  if (ctx_ != nullptr && boundary_.atMessageBoundary() && !wslay_event_want_write(ctx_) &&
      !wslay_event_get_close_received(ctx_) && !wslay_event_get_close_sent(ctx_)) {
    wslay_event_context_free(ctx_);
    ctx_ = nullptr;
  }
}

void WebSocketSession::flushControl() {
  if (connection_.state() != net::TcpConnection::State::kOpen || ctx_ == nullptr) return;
  if (wslay_event_want_write(ctx_)) wslay_event_send(ctx_);
  if (connection_.state() != net::TcpConnection::State::kOpen) return;
  if (wslay_event_get_close_sent(ctx_)) {
    // wslay answered a close, or closed on a protocol error (1002), an oversized message
    // (1009) or bad UTF-8 (1007): nothing more is read.
    const std::uint16_t received = wslay_event_get_status_code_received(ctx_);
    const std::uint16_t sent = wslay_event_get_status_code_sent(ctx_);
    connection_.setOutputFraming(nullptr);  // the close frame is already out
    connection_.closeAfterFlush(received != WSLAY_CODE_ABNORMAL_CLOSURE
                                    ? fmt::format("websocket closed by the peer ({})", received)
                                    : fmt::format("websocket closed by the server ({})", sent));
  }
}

bool WebSocketSession::heartbeat() {
  releaseParserIfIdle();
  if (std::exchange(heardFrom_, false)) {
    pingPending_ = false;
    return true;
  }
  if (pingPending_) return false;
  pingPending_ = true;
  scratch_.clear();
  appendFrame(WSLAY_PING, "", scratch_);
  (void)connection_.sendUnframed(scratch_);
  return true;
}

void WebSocketSession::closeWith(std::uint16_t code, std::string_view reason) {
  if (connection_.state() != net::TcpConnection::State::kOpen) return;
  scratch_.clear();
  appendFrame(WSLAY_CONNECTION_CLOSE, closePayload(code, reason), scratch_);
  (void)connection_.sendUnframed(scratch_);
  connection_.setOutputFraming(nullptr);
  connection_.closeAfterFlush(fmt::format("websocket: {} ({})", reason, code));
}

void WebSocketSession::frame(std::string_view payload, net::Buffer& out) {
  // Header, then the payload: no copy of the payload into a temporary.
  std::array<char, kMaxHeaderBytes> header{};
  out.append(std::string_view(header.data(), frameHeader(kText, payload.size(), header.data())));
  out.append(payload);
}

void WebSocketSession::beforeDrain(net::TcpConnection& connection, std::string_view reason) {
  // The application closes (refused, kicked, idle, shutdown): say why in a close frame.
  scratch_.clear();
  appendFrame(WSLAY_CONNECTION_CLOSE,
              closePayload(listener_.webSocketCloseCode(connection), reason), scratch_);
  (void)connection.sendUnframed(scratch_);
}

void WebSocketSession::appendFrame(std::uint8_t opcode, std::string_view payload,
                                   std::string& out) {
  std::array<char, kMaxHeaderBytes> header{};
  out.append(header.data(), frameHeader(opcode, payload.size(), header.data()));
  out += payload;
}

std::string WebSocketSession::closePayload(std::uint16_t code, std::string_view reason) {
  std::string out;
  out += static_cast<char>(code >> 8);
  out += static_cast<char>(code & 0xFF);
  std::size_t n = std::min<std::size_t>(reason.size(), 123);
  // Back off to the start of a UTF-8 sequence so the reason stays valid UTF-8.
  if (n < reason.size()) {
    while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
  }
  out += reason.substr(0, n);
  return out;
}

}  // namespace classchat::transport
