#include "net/tcp_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace classchat::net {
namespace {
// Rounds of flush/destroy per iteration before deferring the rest to the next one.
constexpr int kMaxBeforeSleepRounds = 4;
}  // namespace

TcpServer::TcpServer(EventLoop& loop, std::uint32_t loopIndex, const InetAddress& address,
                     ConnectionHandler& handler, TcpServerOptions options)
    : loop_(loop),
      loopIndex_(loopIndex),
      handler_(handler),
      options_(options),
      acceptor_(loop, address, options.reusePort),
      lingerer_(loop, options.maxLingering, options.lingerTimeout) {
  loop_.addBeforeSleepHook([this] { beforeSleep(); });
}

TcpServer::~TcpServer() = default;

void TcpServer::addCodecListener(const InetAddress& address, CodecFactory codecs) {
  codecListener_.reset(
      new CodecListener{Acceptor(loop_, address, options_.reusePort), std::move(codecs)});
}

void TcpServer::start() {
  loop_.assertInLoopThread();
  acceptor_.start([this](Fd socket, const InetAddress& peer) {
    handleNewConnection(std::move(socket), peer, codecs_);
  });
  if (codecListener_) {
    codecListener_->acceptor.start([this](Fd socket, const InetAddress& peer) {
      handleNewConnection(std::move(socket), peer, codecListener_->codecs);
    });
  }
}

void TcpServer::stopAccepting() {
  loop_.assertInLoopThread();
  acceptor_.stop();
  if (codecListener_) codecListener_->acceptor.stop();
}

TcpConnection* TcpServer::find(ConnectionId id) const {
  loop_.assertInLoopThread();
  const auto found = connections_.find(id);
  return found == connections_.end() ? nullptr : found->second.get();
}

void TcpServer::handleNewConnection(Fd socket, const InetAddress& peer,
                                    const CodecFactory& codecs) {
  const int on = 1;
  // Chat frames are small and latency matters more than packet count; output is already
  // batched per loop iteration.
  ::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  if (options_.keepAlive) {
    // First probe after 60 s of silence, then every 10 s; 6 unanswered probes close it.
    const int idleSeconds = 60, intervalSeconds = 10, probes = 6;
    ::setsockopt(socket.get(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    ::setsockopt(socket.get(), IPPROTO_TCP, TCP_KEEPIDLE, &idleSeconds, sizeof idleSeconds);
    ::setsockopt(socket.get(), IPPROTO_TCP, TCP_KEEPINTVL, &intervalSeconds,
                 sizeof intervalSeconds);
    ::setsockopt(socket.get(), IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
  }
  if (options_.sendBufferBytes > 0) {
    // A fixed size also turns off the kernel's autotuning, which would otherwise let one
    // peer that does not read hold up to tcp_wmem's maximum (4 MB here) of kernel memory.
    const int bytes = static_cast<int>(options_.sendBufferBytes);
    ::setsockopt(socket.get(), SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  }
  const ConnectionId id =
      (nextSequence_++ << 9) | (ConnectionId{options_.idTag & 1u} << 8) | loopIndex_;
  const int fd = socket.get();
  std::unique_ptr<StreamCodec> codec;
  if (codecs) {
    codec = codecs(fd, id);
    if (!codec) return;  // refused (the factory says why); the socket closes here
  }
  auto connection =
      std::make_unique<TcpConnection>(*this, std::move(socket), id, peer.ip(), peer.port());
  connection->codec_ = std::move(codec);
  if (!loop_.add(fd, EPOLLIN, connection.get())) {
    spdlog::warn("cannot watch connection from {}: {}", peer.toString(), std::strerror(errno));
    return;
  }
  TcpConnection& ref = *connection;
  connections_.emplace(id, std::move(connection));
  handler_.onConnected(ref);
}

void TcpServer::markDirty(TcpConnection& connection) {
  dirty_.push_back(&connection);
}

void TcpServer::markClosed(TcpConnection& connection) {
  closed_.push_back(connection.id());
}

void TcpServer::armDrainDeadline(TcpConnection& connection) {
  loop_.runAfter(options_.drainTimeout, [this, id = connection.id()] {
    if (TcpConnection* c = find(id);
        c != nullptr && c->state() == TcpConnection::State::kDraining) {
      // A peer that does not read is not owed a graceful close (see TcpConnection::abort).
      c->abort(c->closeReason() + " (peer did not read its last output in time)");
    }
  });
}

void TcpServer::beforeSleep() {
  for (int round = 0; round < kMaxBeforeSleepRounds && !(dirty_.empty() && closed_.empty());
       ++round) {
    // Flush first: a connection closed during the flush is destroyed in the same round.
    std::vector<TcpConnection*> dirty;
    dirty.swap(dirty_);
    for (TcpConnection* connection : dirty) {
      connection->dirty_ = false;
      if (connection->state() != TcpConnection::State::kClosed) connection->flush();
    }
    std::vector<ConnectionId> closed;
    closed.swap(closed_);
    for (ConnectionId id : closed) {
      const auto found = connections_.find(id);
      if (found == connections_.end()) continue;
      handler_.onClosed(*found->second);
      connections_.erase(found);
    }
  }
  // Whatever onClosed queued beyond the last round is handled in the next iteration.
  if (!dirty_.empty() || !closed_.empty()) loop_.post([] {});
}

}  // namespace classchat::net
