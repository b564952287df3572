#include "net/acceptor.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "net/die_with_errno.h"

namespace classchat::net {
namespace {

// Accepts per readiness event: enough to drain bursts, small enough to stay fair to
// the loop's other connections.
constexpr int kMaxAcceptsPerEvent = 128;
constexpr auto kAcceptPause = std::chrono::milliseconds(100);

Fd openSpare() {
  return Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

}  // namespace

Acceptor::Acceptor(EventLoop& loop, const InetAddress& address, bool reusePort)
    : loop_(loop),
      socket_(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)),
      spare_(openSpare()) {
  if (!socket_.valid()) dieWithErrno("socket");
  const int on = 1;
  ::setsockopt(socket_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (reusePort && ::setsockopt(socket_.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
    dieWithErrno("setsockopt(SO_REUSEPORT)");
  }
  if (address.family() == AF_INET6) {
    // "::" accepts IPv4 too (as mapped addresses), like the class's dual-stack clients expect.
    const int off = 0;
    ::setsockopt(socket_.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  if (::bind(socket_.get(), address.get(), address.length()) != 0) {
    dieWithErrno("bind " + address.toString());
  }
  if (::listen(socket_.get(), SOMAXCONN) != 0) dieWithErrno("listen");
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(socket_.get(), reinterpret_cast<sockaddr*>(&bound), &length);
  local_ = InetAddress(bound);
}

Acceptor::~Acceptor() {
  stop();
}

void Acceptor::start(NewConnectionCallback callback) {
  onNewConnection_ = std::move(callback);
  if (!loop_.add(socket_.get(), EPOLLIN, this)) dieWithErrno("epoll_ctl(listener)");
}

void Acceptor::stop() {
  if (!socket_.valid()) return;
  if (!paused_) loop_.remove(socket_.get());
  socket_.reset();
}

void Acceptor::handleEvent(std::uint32_t) {
  for (int i = 0; i < kMaxAcceptsPerEvent && socket_.valid() && !paused_; ++i) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    const int fd = ::accept4(socket_.get(), reinterpret_cast<sockaddr*>(&peer), &length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      onNewConnection_(Fd(fd), InetAddress(peer));
      continue;
    }
    switch (errno) {
      case EAGAIN:
        return;
      case EINTR:
      case ECONNABORTED:
      case EPROTO:
        continue;
      case EMFILE:
      case ENFILE:
        refuseOneForDescriptors();
        continue;
      default:
        spdlog::warn("accept failed: {}", std::strerror(errno));
        return;
    }
  }
}

void Acceptor::refuseOneForDescriptors() {
  spare_.reset();
  Fd refused(::accept4(socket_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  const int acceptErrno = errno;
  if (refused.valid()) {
    ++refusedForDescriptors_;
    if (!overloadReply_.empty()) {
      [[maybe_unused]] ssize_t n = ::send(refused.get(), overloadReply_.data(),
                                          overloadReply_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    refused.reset();
  }
  spare_ = openSpare();
  const auto now = Clock::now();
  if (now - lastRefusalLog_ >= std::chrono::seconds(1)) {
    lastRefusalLog_ = now;
    spdlog::warn("out of file descriptors: refusing new connections ({} refused so far)",
                 refusedForDescriptors_);
  }
  if (!refused.valid() && (acceptErrno == EMFILE || acceptErrno == ENFILE || !spare_.valid())) {
    // Another thread took the spare's slot: we cannot drain the backlog, so stop polling
    // the listener for a moment instead of spinning on a readiness we cannot clear.
    pauseAccepting();
  }
}

void Acceptor::pauseAccepting() {
  if (paused_ || !socket_.valid()) return;
  paused_ = true;
  loop_.remove(socket_.get());
  loop_.runAfter(kAcceptPause, [this] {
    paused_ = false;
    if (socket_.valid()) loop_.add(socket_.get(), EPOLLIN, this);
  });
}

}  // namespace classchat::net
