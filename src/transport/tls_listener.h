// The TLS side of one loop's TcpServer: a TlsStream for every connection accepted on the
// TLS port, a cap on handshakes in progress, and a deadline for each handshake.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "net/event_loop.h"
#include "net/tcp_server.h"
#include "transport/tls_context.h"
#include "transport/tls_stream.h"

namespace classchat::transport {

struct TlsListenerOptions {
  // Handshakes in progress on this loop beyond which new TLS connections are closed at
  // once. A handshake in progress holds OpenSSL's record buffers and key-exchange state
  // (several times an idle TLS connection's 15 KB) until it ends, so this bounds what a
  // flood of ClientHellos can hold per loop.
  std::size_t maxHandshakes = 256;
  // A handshake not finished by then is aborted (a peer that connects and says nothing,
  // or stops half-way).
  std::chrono::milliseconds handshakeTimeout{10'000};
  // Written in the clear to a peer that does not speak TLS (see TlsStream::accept).
  std::string plainTextReply;
};

// Thread-safety: none; one per loop, used on that loop's thread. `contexts` is shared by
// every loop and read once per accepted connection.
class TlsListener {
 public:
  TlsListener(net::EventLoop& loop, const TlsContextSlot& contexts, TlsListenerOptions options)
      : loop_(loop), contexts_(contexts), options_(options) {}

  // The codec factory to give `tcp` (TcpServer::addCodecListener or setCodecFactory).
  // `tcp` must be on this listener's loop, and both must outlive the loop's run.
  net::TcpServer::CodecFactory factory(net::TcpServer& tcp);

  std::size_t handshakesInProgress() const { return *inProgress_; }
  std::uint64_t refusedForHandshakes() const { return refused_; }
  std::uint64_t handshakeTimeouts() const { return timeouts_; }

 private:
  std::unique_ptr<net::StreamCodec> make(net::TcpServer& tcp, int fd, net::ConnectionId id);
  void checkHandshake(net::TcpServer& tcp, net::ConnectionId id);

  net::EventLoop& loop_;
  const TlsContextSlot& contexts_;
  TlsListenerOptions options_;
  // Shared with the streams, which may outlive this object only during destruction.
  TlsStream::HandshakeGauge inProgress_ = std::make_shared<std::size_t>(0);
  std::uint64_t refused_ = 0;
  std::uint64_t timeouts_ = 0;
  std::uint64_t refusedSinceLog_ = 0;
  net::Clock::time_point lastRefusalLog_{};
};

}  // namespace classchat::transport
