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

// Identifies a connection across the process: the low 8 bits are the index of the
// owning loop, the rest a per-loop sequence number. Never reused during a run.
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
  // Stops reading; closes after queued output is written, or when the drain deadline passes.
  void closeAfterFlush(std::string reason);
  // Closes now; queued output is discarded.
  void close(std::string reason);
  const std::string& closeReason() const { return closeReason_; }
  // What the kernel says of the socket now, without reading (poll with no wait): whether
  // input is waiting, and whether the peer has closed or reset its side (POLLRDHUP), which
  // shows even while input it sent before that is still unread.
  struct PeerStatus {
    bool inputWaiting = false;
    bool hungUp = false;
  };
  PeerStatus peerStatus() const;

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
  std::string peerIp_;
  std::string closeReason_;
  std::uint16_t peerPort_;
  State state_ = State::kOpen;
  bool dirty_ = false;      // queued in the server's flush list
  bool wantWrite_ = false;  // EPOLLOUT registered
};

}  // namespace classchat::net
