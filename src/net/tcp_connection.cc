#include "net/tcp_connection.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/tcp_server.h"

namespace classchat::net {

TcpConnection::TcpConnection(TcpServer& server, Fd socket, ConnectionId id, std::string peerIp,
                             std::uint16_t peerPort)
    : server_(server),
      socket_(std::move(socket)),
      id_(id),
      peerIp_(std::move(peerIp)),
      peerPort_(peerPort) {}

TcpConnection::~TcpConnection() = default;

void TcpConnection::send(std::string_view bytes) {
  server_.loop().assertInLoopThread();
  if (framing_ == nullptr) {
    sendUnframed(bytes);
    return;
  }
  if (state_ != State::kOpen) return;
  // A frame header is at most 14 bytes; the limit is a cut-off, not an exact budget.
  if (output_.size() + bytes.size() > server_.options().maxOutputBytes) {
    abort(fmt::format("slow consumer: more than {} bytes of output queued",
                      server_.options().maxOutputBytes));
    return;
  }
  framing_->frame(bytes, output_);
  if (!dirty_) {
    dirty_ = true;
    server_.markDirty(*this);
  }
}

void TcpConnection::sendUnframed(std::string_view bytes) {
  server_.loop().assertInLoopThread();
  if (state_ != State::kOpen) return;
  if (output_.size() + bytes.size() > server_.options().maxOutputBytes) {
    abort(fmt::format("slow consumer: more than {} bytes of output queued",
                      server_.options().maxOutputBytes));
    return;
  }
  output_.append(bytes);
  if (!dirty_) {
    dirty_ = true;
    server_.markDirty(*this);
  }
}

void TcpConnection::closeAfterFlush(std::string reason) {
  server_.loop().assertInLoopThread();
  if (state_ != State::kOpen) return;
  if (framing_ != nullptr) {
    // Once only: the framing may itself call closeAfterFlush.
    OutputFraming* framing = std::exchange(framing_, nullptr);
    framing->beforeDrain(*this, reason);
    if (state_ != State::kOpen) return;
  }
  state_ = State::kDraining;
  closeReason_ = std::move(reason);
  if (output_.empty()) {
    finishDrain();
    return;
  }
  updateInterest();
  if (state_ == State::kDraining) server_.armDrainDeadline(*this);
}

void TcpConnection::abort(std::string reason) {
  server_.loop().assertInLoopThread();
  if (state_ == State::kClosed) return;
  if (!output_.empty()) {
    const std::string_view pending = output_.readable();
    [[maybe_unused]] const ssize_t n =
        codec_ ? codec_->write(pending.data(), pending.size())
               : ::send(socket_.get(), pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  // With a zero linger time, close() resets the connection and frees the kernel's send
  // queue at once; the descriptor is closed when the server destroys the connection, at
  // the end of this iteration.
  const linger abortive{1, 0};
  ::setsockopt(socket_.get(), SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
  close(std::move(reason));
}

void TcpConnection::close(std::string reason) {
  server_.loop().assertInLoopThread();
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  closeReason_ = std::move(reason);
  if (socket_.valid()) server_.loop().remove(socket_.get());
  server_.markClosed(*this);
}

void TcpConnection::finishDrain() {
  if (peerClosed_) {
    // Everything the peer sent was read, so a plain close ends with a FIN, not an RST.
    close(std::move(closeReason_));
    return;
  }
  server_.loop().remove(socket_.get());
  if (codec_) codec_->shutdown();
  // The lingering socket is no longer this connection's: the application sees it closed
  // (its name is free at once), while the peer still gets its last bytes.
  server_.lingerer_.add(std::move(socket_));
  close(std::move(closeReason_));
}

TcpConnection::PeerStatus TcpConnection::peerStatus() const {
  pollfd probe{socket_.get(), POLLIN | POLLRDHUP, 0};
  if (::poll(&probe, 1, 0) != 1) return {};
  return {(probe.revents & POLLIN) != 0, (probe.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0};
}

void TcpConnection::handleEvent(std::uint32_t events) {
  if (state_ == State::kClosed) return;
  if ((events & EPOLLIN) || (codec_ && (events & EPOLLOUT) && codec_->readWaitsForWritable())) {
    handleRead();
  } else if (events & (EPOLLERR | EPOLLHUP)) {
    if (peerClosed_) {
      close(state_ == State::kDraining ? "connection lost while draining" : "connection lost");
      return;
    }
    handleRead();  // reports the error, or the EOF
  }
  if (state_ != State::kClosed &&
      ((events & EPOLLOUT) || (codec_ && !output_.empty() && codec_->writeWaitsForReadable()))) {
    flush();
  }
}

void TcpConnection::handleRead() {
  // One read per readiness event: level-triggered epoll brings us back if more is
  // waiting, which keeps one busy peer from starving the others on this loop.
  EventLoop& loop = server_.loop();
  const ssize_t n = codec_ ? codec_->read(loop.readBuffer(), loop.readBufferSize())
                           : ::recv(socket_.get(), loop.readBuffer(), loop.readBufferSize(), 0);
  if (n > 0) {
    // While draining, input is read only so that it is not left unread (which would turn
    // the close into an RST, and would block a peer that writes before it reads).
    if (state_ == State::kOpen) {
      server_.handler_.onData(*this, std::string_view(loop.readBuffer(), static_cast<size_t>(n)));
    }
    // Decoded input the codec holds would not wake epoll again: read it now.
    if (codec_ && state_ != State::kClosed && codec_->hasBufferedInput()) handleRead();
    return;
  }
  if (n == 0) {
    peerClosed_ = true;
    if (state_ == State::kOpen) {
      closeAfterFlush("peer closed the connection");
    } else {
      updateInterest();  // stop watching a read side that will only ever say EOF
    }
    return;
  }
  if (errno == EAGAIN || errno == EINTR) {
    if (codec_) updateInterest();  // the codec may now wait for the socket to be writable
    return;
  }
  close(errno == ECONNRESET           ? std::string("connection reset by peer")
        : (codec_ && errno == EPROTO) ? codec_->error()
                                      : fmt::format("read error: {}", std::strerror(errno)));
}

void TcpConnection::flush() {
  while (!output_.empty()) {
    const std::string_view pending = output_.readable();
    const ssize_t n = codec_ ? codec_->write(pending.data(), pending.size())
                             : ::send(socket_.get(), pending.data(), pending.size(), MSG_NOSIGNAL);
    if (n > 0) {
      output_.consume(static_cast<std::size_t>(n));
      server_.countWritten(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    close(errno == EPIPE || errno == ECONNRESET ? std::string("connection reset by peer")
          : (codec_ && errno == EPROTO)         ? codec_->error()
                                        : fmt::format("write error: {}", std::strerror(errno)));
    return;
  }
  if (output_.empty() && state_ == State::kDraining) {
    finishDrain();
    return;
  }
  updateInterest();
}

void TcpConnection::updateInterest() {
  const bool wantRead = !peerClosed_;
  // A codec's write that waits for input is retried on EPOLLIN, not on EPOLLOUT (which
  // would spin); a codec's read that waits for the socket to drain needs EPOLLOUT.
  const bool wantWrite = codec_ ? (!output_.empty() && !codec_->writeWaitsForReadable()) ||
                                      codec_->readWaitsForWritable()
                                : !output_.empty();
  if (wantRead == wantRead_ && wantWrite == wantWrite_) return;
  const std::uint32_t events =
      (wantRead ? std::uint32_t{EPOLLIN} : 0u) | (wantWrite ? std::uint32_t{EPOLLOUT} : 0u);
  if (!server_.loop().modify(socket_.get(), events, this)) {
    // Only this connection is affected: without the kernel watching it, it would hang.
    const std::string reason = fmt::format("epoll_ctl(MOD) failed: {}", std::strerror(errno));
    spdlog::warn("conn {}: {}; closing it", id_, reason);
    abort(reason);
    return;
  }
  wantRead_ = wantRead;
  wantWrite_ = wantWrite;
}

}  // namespace classchat::net
