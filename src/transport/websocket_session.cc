#include "transport/websocket_session.h"

#include <wslay/wslay.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <simdjson.h>

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
  wslay_frame_callbacks callbacks{};
  callbacks.recv_callback = [](std::uint8_t* buf, std::size_t len, int flags,
                               void* user) -> ssize_t {
    return recvCallback(buf, len, flags, user);
  };
  // Never called: the server writes its frames itself.
  callbacks.send_callback = [](const std::uint8_t*, std::size_t, int, void*) -> ssize_t {
    return WSLAY_ERR_WANT_WRITE;
  };
  if (wslay_frame_context_init(&ctx_, &callbacks, this) != 0) {
    ctx_ = nullptr;
    return false;
  }
  return true;
}

WebSocketSession::~WebSocketSession() {
  if (ctx_ != nullptr) wslay_frame_context_free(ctx_);
}

ssize_t WebSocketSession::recvCallback(std::uint8_t* buf, std::size_t len, int /*flags*/,
                                       void* user) {
  auto* self = static_cast<WebSocketSession*>(user);
  if (self->input_.empty()) return -1;  // wslay_frame_recv answers WSLAY_ERR_WANT_READ
  const std::size_t n = std::min(len, self->input_.size());
  std::memcpy(buf, self->input_.data(), n);
  self->input_.remove_prefix(n);
  return static_cast<ssize_t>(n);
}

void WebSocketSession::receive(std::string_view bytes) {
  if (ctx_ == nullptr && !createParser()) {
    connection_.close("websocket: out of memory");
    return;
  }
  heardFrom_ = true;
  boundary_.feed(bytes);
  input_ = bytes;
  while (connection_.state() == net::TcpConnection::State::kOpen) {
    wslay_frame_iocb iocb{};
    const ssize_t n = wslay_frame_recv(ctx_, &iocb);
    if (n == WSLAY_ERR_WANT_READ) break;
    if (n < 0) {  // a control frame that is fragmented or over 125 bytes, a bad length
      closeWith(kWsProtocolError, "websocket: malformed frame");
      break;
    }
    const std::string_view data(reinterpret_cast<const char*>(iocb.data), iocb.data_length);
    if (!onChunk(iocb.opcode, iocb.fin != 0, iocb.rsv, iocb.mask != 0, iocb.payload_length, data)) {
      break;
    }
  }
  input_ = {};
  releaseParserIfIdle();
}

bool WebSocketSession::startFrame(std::uint8_t opcode, bool /*fin*/, std::uint8_t rsv, bool masked,
                                  std::uint64_t payloadLength) {
  // RFC 6455 section 5: no extension was negotiated, clients mask, and only six opcodes
  // exist; control frames may come between a message's fragments, data frames may not.
  if (rsv != 0 || !masked) {
    closeWith(kWsProtocolError, rsv != 0 ? "websocket: reserved bits set"
                                         : "websocket: client frames must be masked");
    return false;
  }
  switch (opcode) {
    case WSLAY_CONNECTION_CLOSE:
    case WSLAY_PING:
    case WSLAY_PONG:
      control_.clear();
      return true;
    case WSLAY_BINARY_FRAME:
      closeWith(kWsUnsupportedData, "binary messages are not accepted: send JSON as text");
      return false;
    case WSLAY_TEXT_FRAME:
      if (messageOpcode_ != 0) {
        closeWith(kWsProtocolError, "websocket: a new message inside a fragmented one");
        return false;
      }
      messageOpcode_ = opcode;
      messageBytes_ = 0;
      break;
    case WSLAY_CONTINUATION_FRAME:
      if (messageOpcode_ == 0) {
        closeWith(kWsProtocolError, "websocket: a continuation frame with no message");
        return false;
      }
      break;
    default:
      closeWith(kWsProtocolError, "websocket: unknown opcode");
      return false;
  }
  // Checked on the announced length, before any of the payload is kept.
  messageBytes_ += payloadLength;
  if (messageBytes_ > maxMessageBytes_) {
    closeWith(kWsTooBig, fmt::format("message larger than {} bytes", maxMessageBytes_));
    return false;
  }
  return true;
}

bool WebSocketSession::onChunk(std::uint8_t opcode, bool fin, std::uint8_t rsv, bool masked,
                               std::uint64_t payloadLength, std::string_view data) {
  const bool frameStart = frameLeft_ == 0;
  if (frameStart) {
    if (!startFrame(opcode, fin, rsv, masked, payloadLength)) return false;
    frameLeft_ = payloadLength;
  }
  frameLeft_ -= data.size();
  const bool frameEnd = frameLeft_ == 0;
  if ((opcode & 0x8) != 0) {  // a control frame
    control_.append(data);
    if (frameEnd) onControl(opcode);
    return connection_.state() == net::TcpConnection::State::kOpen;
  }
  if (frameStart && frameEnd && fin && message_.empty()) {
    deliver(data);  // a message in one frame, whole in wslay's buffer: no copy
  } else {
    message_.append(data);
    if (frameEnd && fin) {
      deliver(message_);
      // Keep a small buffer for the next fragmented message; give back a large one.
      if (message_.capacity() > 4096) {
        std::string().swap(message_);
      } else {
        message_.clear();
      }
    }
  }
  return connection_.state() == net::TcpConnection::State::kOpen;
}

void WebSocketSession::deliver(std::string_view text) {
  messageOpcode_ = 0;
  if (!simdjson::validate_utf8(text.data(), text.size())) {
    closeWith(kWsInvalidPayload, "websocket: text that is not UTF-8");
    return;
  }
  listener_.onWebSocketText(connection_, text);
}

void WebSocketSession::onControl(std::uint8_t opcode) {
  if (opcode == WSLAY_PING) {
    scratch_.clear();
    appendFrame(WSLAY_PONG, control_, scratch_);
    connection_.sendUnframed(scratch_);
  } else if (opcode == WSLAY_CONNECTION_CLOSE) {
    // Echo the peer's code (RFC 6455 5.5.1), after checking it is one a peer may send.
    if (control_.size() == 1) {
      closeWith(kWsProtocolError, "websocket: a close frame of one byte");
      return;
    }
    std::uint16_t code = kWsNormal;
    if (control_.size() >= 2) {
      code = static_cast<std::uint16_t>(static_cast<unsigned char>(control_[0]) << 8 |
                                        static_cast<unsigned char>(control_[1]));
      const bool valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
                         (code >= 3000 && code <= 4999);
      if (!valid) {
        closeWith(kWsProtocolError, "websocket: an invalid close code");
        return;
      }
      if (!simdjson::validate_utf8(control_.data() + 2, control_.size() - 2)) {
        closeWith(kWsInvalidPayload, "websocket: a close reason that is not UTF-8");
        return;
      }
    }
    scratch_.clear();
    appendFrame(WSLAY_CONNECTION_CLOSE, closePayload(code, ""), scratch_);
    connection_.sendUnframed(scratch_);
    connection_.setOutputFraming(nullptr);  // the close frame is already out
    connection_.closeAfterFlush(control_.size() >= 2
                                    ? fmt::format("websocket closed by the peer ({})", code)
                                    : std::string("websocket closed by the peer"));
  }
  control_.clear();  // a pong needs nothing more
}

void WebSocketSession::releaseParserIfIdle() {
  // Between messages the frame context holds nothing we need: give its buffer back and
  // start a fresh context with the next byte. Done after every read that ends between
  // messages, so an idle WebSocket holds no parser, and the allocator hands the same warm
  // block to the next connection that reads.
  if (ctx_ != nullptr && boundary_.atMessageBoundary() && frameLeft_ == 0 && messageOpcode_ == 0) {
    wslay_frame_context_free(ctx_);
    ctx_ = nullptr;
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
  connection_.sendUnframed(scratch_);
  return true;
}

void WebSocketSession::closeWith(std::uint16_t code, std::string_view reason) {
  if (connection_.state() != net::TcpConnection::State::kOpen) return;
  scratch_.clear();
  appendFrame(WSLAY_CONNECTION_CLOSE, closePayload(code, reason), scratch_);
  connection_.sendUnframed(scratch_);
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
  connection.sendUnframed(scratch_);
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
