// One accepted TCP connection: non-blocking reads, a bounded output queue, and an
// explicit close protocol.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/buffer.h"
#include "net/event_loop.h"
#include "net/fd.h"

namespace classchat::net {

class TcpServer;
class TcpConnection;

// Identifies a connection across the process: the low 8 bits are the index of the
// owning loop, bit 8 the owning server's tag (TcpServerOptions::idTag, so that two servers
// on one loop never hand out the same id), the rest a per-server sequence number. Never
// reused during a run.
using ConnectionId = std::uint64_t;
inline std::uint32_t loopIndexOf(ConnectionId id) {
  return static_cast<std::uint32_t>(id & 0xFF);
}

// Per-connection state owned by the application (the chat session). Destroyed with the
// connection.
class ConnectionContext {
 public:
  virtual ~ConnectionContext() = default;
};

// An optional framing applied to what the application sends, for a transport layered on
// the byte stream (a WebSocket wraps every send() as one text frame). Owned by the
// application (typically by the connection's context, which outlives every send);
// net knows nothing of what the framing is.
class OutputFraming {
 public:
  virtual ~OutputFraming() = default;
  // Appends `payload`, wrapped as one frame, to `out`.
  virtual void frame(std::string_view payload, Buffer& out) = 0;
  // Called once by closeAfterFlush, while the connection can still send: a last word
  // (a WebSocket close frame) may be sent with sendUnframed().
  virtual void beforeDrain(TcpConnection& connection, std::string_view reason) = 0;
};

// Thread-safety: none. A connection belongs to its loop; other threads reach it only by
// posting to that loop and looking it up by id.
//
// Lifetime: owned by its TcpServer. close() only marks it; the server calls
// ConnectionHandler::onClosed and destroys it at the end of the loop iteration, so a
// connection is never destroyed inside one of its own callbacks.
class TcpConnection final : public IoHandler {
 public:
  enum class State : std::uint8_t {
    kOpen,      // reading and writing
    kDraining,  // no more reads or sends; closes once queued output is written
    kClosed,    // waiting to be destroyed at the end of the iteration
  };
  enum class SendStatus : std::uint8_t {
    kQueued,    // will be written by the end of this loop iteration (or later under backpressure)
    kDropped,   // the connection is draining or closed
    kOverflow,  // the output limit was exceeded: the connection is being closed
  };

  TcpConnection(TcpServer& server, Fd socket, ConnectionId id, std::string peerIp,
                std::uint16_t peerPort);
  ~TcpConnection() override;

  ConnectionId id() const { return id_; }
  const std::string& peerIp() const { return peerIp_; }
  std::uint16_t peerPort() const { return peerPort_; }
  State state() const { return state_; }
  std::size_t queuedBytes() const { return output_.size(); }

  // Queues bytes; they are written once per loop iteration (batched). Exceeding the
  // server's output limit closes the connection as a slow consumer.
  SendStatus send(std::string_view bytes);
  // As send(), but never through the OutputFraming (the framing's own control frames).
  SendStatus sendUnframed(std::string_view bytes);
  // nullptr (the default) sends bytes as they are. Not owned.
  void setOutputFraming(OutputFraming* framing) { framing_ = framing; }
  // Stops reading; closes after queued output is written, or when the drain deadline passes.
  void closeAfterFlush(std::string reason);
  // Closes now; queued output is discarded.
  void close(std::string reason);
  const std::string& closeReason() const { return closeReason_; }

  ConnectionContext* context() const { return context_.get(); }
  void setContext(std::unique_ptr<ConnectionContext> context) { context_ = std::move(context); }

  void handleEvent(std::uint32_t events) override;

 private:
  friend class TcpServer;
  void handleRead();
  // Writes as much queued output as the kernel takes; called by the server once per
  // iteration for connections with new output, and on EPOLLOUT.
  void flush();
  void updateInterest();

  TcpServer& server_;
  Fd socket_;
  ConnectionId id_;
  Buffer output_;
  std::unique_ptr<ConnectionContext> context_;
  OutputFraming* framing_ = nullptr;
  std::string peerIp_;
  std::string closeReason_;
  std::uint16_t peerPort_;
  State state_ = State::kOpen;
  bool dirty_ = false;      // queued in the server's flush list
  bool wantWrite_ = false;  // EPOLLOUT registered
};

}  // namespace classchat::net
