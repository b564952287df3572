#include "net/tcp_connection.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

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

TcpConnection::SendStatus TcpConnection::send(std::string_view bytes) {
  if (framing_ == nullptr) return sendUnframed(bytes);
  if (state_ != State::kOpen) return SendStatus::kDropped;
  // A frame header is at most 14 bytes; the limit is a cut-off, not an exact budget.
  if (output_.size() + bytes.size() > server_.options().maxOutputBytes) {
    close(fmt::format("slow consumer: more than {} bytes of output queued",
                      server_.options().maxOutputBytes));
    return SendStatus::kOverflow;
  }
  framing_->frame(bytes, output_);
  if (!dirty_) {
    dirty_ = true;
    server_.markDirty(*this);
  }
  return SendStatus::kQueued;
}

TcpConnection::SendStatus TcpConnection::sendUnframed(std::string_view bytes) {
  if (state_ != State::kOpen) return SendStatus::kDropped;
  if (output_.size() + bytes.size() > server_.options().maxOutputBytes) {
    close(fmt::format("slow consumer: more than {} bytes of output queued",
                      server_.options().maxOutputBytes));
    return SendStatus::kOverflow;
  }
  output_.append(bytes);
  if (!dirty_) {
    dirty_ = true;
    server_.markDirty(*this);
  }
  return SendStatus::kQueued;
}

void TcpConnection::closeAfterFlush(std::string reason) {
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
    close(std::move(closeReason_));
    return;
  }
  updateInterest();
  server_.armDrainDeadline(*this);
}

void TcpConnection::close(std::string reason) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  closeReason_ = std::move(reason);
  server_.loop().remove(socket_.get());
  server_.markClosed(*this);
}

void TcpConnection::handleEvent(std::uint32_t events) {
  if (state_ == State::kClosed) return;
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
    if (state_ == State::kOpen) {
      handleRead();
    } else if (events & (EPOLLERR | EPOLLHUP)) {
      close("connection lost while draining");
    }
  }
  if (state_ != State::kClosed && (events & EPOLLOUT)) flush();
}

void TcpConnection::handleRead() {
  // One read per readiness event: level-triggered epoll brings us back if more is
  // waiting, which keeps one busy peer from starving the others on this loop.
  EventLoop& loop = server_.loop();
  const ssize_t n = ::recv(socket_.get(), loop.readBuffer(), loop.readBufferSize(), 0);
  if (n > 0) {
    server_.handler_.onData(*this, std::string_view(loop.readBuffer(), static_cast<size_t>(n)));
    return;
  }
  if (n == 0) {
    closeAfterFlush("peer closed the connection");
    return;
  }
  if (errno == EAGAIN || errno == EINTR) return;
  close(errno == ECONNRESET ? std::string("connection reset by peer")
                            : fmt::format("read error: {}", std::strerror(errno)));
}

void TcpConnection::flush() {
  while (!output_.empty()) {
    const std::string_view pending = output_.readable();
    const ssize_t n = ::send(socket_.get(), pending.data(), pending.size(), MSG_NOSIGNAL);
    if (n > 0) {
      output_.consume(static_cast<std::size_t>(n));
      server_.countWritten(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    close(errno == EPIPE || errno == ECONNRESET
              ? std::string("connection reset by peer")
              : fmt::format("write error: {}", std::strerror(errno)));
    return;
  }
  if (output_.empty() && state_ == State::kDraining) {
    close(std::move(closeReason_));
    return;
  }
  updateInterest();
}

void TcpConnection::updateInterest() {
  const bool wantWrite = !output_.empty();
  const bool wantRead = state_ == State::kOpen;
  if (wantWrite == wantWrite_ && wantRead) return;
  wantWrite_ = wantWrite;
  const std::uint32_t events =
      (wantRead ? std::uint32_t{EPOLLIN} : 0u) | (wantWrite ? std::uint32_t{EPOLLOUT} : 0u);
  server_.loop().modify(socket_.get(), events, this);
}

}  // namespace classchat::net
