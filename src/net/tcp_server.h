// Accepts connections on one loop and owns them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/acceptor.h"
#include "net/event_loop.h"
#include "net/lingering_closer.h"
#include "net/tcp_connection.h"

namespace classchat::net {

// The application's side of a TcpServer. All calls happen on the server's loop thread.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  virtual void onConnected(TcpConnection& connection) = 0;
  // Bytes from one read(). The view is valid only during the call.
  virtual void onData(TcpConnection& connection, std::string_view bytes) = 0;
  // Called once, at a safe point just before the connection is destroyed.
  virtual void onClosed(TcpConnection& connection) = 0;
};

struct TcpServerOptions {
  std::size_t maxOutputBytes = 1 << 20;
  // How long a draining connection may take to accept its last bytes.
  std::chrono::milliseconds drainTimeout{3000};
  bool reusePort = true;
  // TCP keepalive probes, so a peer that vanished without FIN or RST (cable pulled,
  // laptop asleep) is eventually noticed even if the server never writes to it.
  bool keepAlive = true;
  // SO_SNDBUF of each connection (0: the kernel's autotuning, up to tcp_wmem's maximum).
  // With maxOutputBytes it bounds what one peer that does not read can hold: the kernel
  // doubles the value for its bookkeeping, so about maxOutputBytes + 2 x this.
  std::size_t sendBufferBytes = 256 * 1024;
  // Lingering close (see LingeringCloser): how long a closed connection's peer may take
  // to close its side, and how many such sockets this loop keeps at once.
  std::chrono::milliseconds lingerTimeout{2000};
  std::size_t maxLingering = 256;
  // 0 or 1, put in every ConnectionId this server hands out (see ConnectionId): a second
  // server on the same loop (the HTTP port) uses 1, so ids stay unique per loop.
  std::uint8_t idTag = 0;
};

// One per event loop: listens (with SO_REUSEPORT, so every loop accepts on the same
// port), owns the connections it accepted, flushes their output once per iteration and
// destroys closed ones at the end of the iteration.
//
// Ending connections: see TcpConnection. Connections closed politely linger in this
// server's LingeringCloser until their peer has read the last reply.
//
// Thread-safety: none; use from the loop's thread (or while the loop is not running).
class TcpServer {
 public:
  TcpServer(EventLoop& loop, std::uint32_t loopIndex, const InetAddress& address,
            ConnectionHandler& handler, TcpServerOptions options);
  ~TcpServer();

  // Gives each connection accepted on a listener its StreamCodec (TLS), before the
  // handler sees it; returning nullptr refuses the connection (its socket is closed at
  // once). Runs on the loop's thread.
  using CodecFactory = std::function<std::unique_ptr<StreamCodec>(int fd, ConnectionId id)>;
  // Connections accepted on the constructor's address get codecs from `codecs` (a server
  // that is TLS only). Before start().
  void setCodecFactory(CodecFactory codecs) { codecs_ = std::move(codecs); }
  // Listens on a second address too (throws std::runtime_error like the first); its
  // connections get codecs from `codecs` and share this server's ids, handler and limits.
  // Before start().
  void addCodecListener(const InetAddress& address, CodecFactory codecs);
  // The second listener's address; nullptr without one.
  const InetAddress* codecListenerAddress() const {
    return codecListener_ ? &codecListener_->acceptor.localAddress() : nullptr;
  }

  void start();
  void stopAccepting();
  void setOverloadReply(std::string bytes) { acceptor_.setOverloadReply(std::move(bytes)); }

  EventLoop& loop() { return loop_; }
  std::uint32_t loopIndex() const { return loopIndex_; }
  const InetAddress& localAddress() const { return acceptor_.localAddress(); }
  const TcpServerOptions& options() const { return options_; }
  std::size_t connectionCount() const { return connections_.size(); }
  // Bytes written to this server's connections so far. Thread-safe: written only by the
  // loop's thread (a relaxed load and store, no locked instruction), readable from any.
  std::uint64_t bytesWritten() const { return bytesWritten_.load(std::memory_order_relaxed); }
  // Closed connections whose sockets still linger (not counted by connectionCount()).
  std::size_t lingeringCount() const { return lingerer_.size(); }

  // nullptr if no such connection lives on this loop.
  TcpConnection* find(ConnectionId id) const;
  template <typename F>
  void forEachConnection(F&& f) const {
    loop_.assertInLoopThread();
    for (const auto& [id, connection] : connections_) f(*connection);
  }

 private:
  friend class TcpConnection;
  void handleNewConnection(Fd socket, const InetAddress& peer, const CodecFactory& codecs);
  void markDirty(TcpConnection& connection);
  void markClosed(TcpConnection& connection);
  void armDrainDeadline(TcpConnection& connection);
  void beforeSleep();
  void countWritten(std::size_t bytes) {
    bytesWritten_.store(bytesWritten_.load(std::memory_order_relaxed) + bytes,
                        std::memory_order_relaxed);
  }

  EventLoop& loop_;
  std::uint32_t loopIndex_;
  ConnectionHandler& handler_;
  TcpServerOptions options_;
  Acceptor acceptor_;
  CodecFactory codecs_;  // empty: plain connections
  struct CodecListener {
    Acceptor acceptor;
    CodecFactory codecs;
  };
  std::unique_ptr<CodecListener> codecListener_;
  LingeringCloser lingerer_;
  std::uint64_t nextSequence_ = 1;
  std::unordered_map<ConnectionId, std::unique_ptr<TcpConnection>> connections_;
  std::vector<TcpConnection*> dirty_;
  std::vector<ConnectionId> closed_;
  std::atomic<std::uint64_t> bytesWritten_{0};
};

}  // namespace classchat::net
