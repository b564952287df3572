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
// How long a refused peer may take to read the overload reply and close its side.
constexpr auto kRefusalLinger = std::chrono::seconds(2);

Fd openSpare() {
  return Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

// SO_REUSEADDR (so that TIME_WAIT leftovers of an earlier run do not block a restart) and,
// for IPv6, dual stack.
void setCommonListenerOptions(int fd, const InetAddress& address) {
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (address.family() == AF_INET6) {
    // "::" accepts IPv4 too (as mapped addresses), like the class's dual-stack clients expect.
    const int off = 0;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
}

}  // namespace

int Acceptor::probeBind(const InetAddress& address) {
  Fd probe(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return errno;
  setCommonListenerOptions(probe.get(), address);
  // With SO_REUSEADDR, Linux refuses the bind only if a socket *listens* on the address.
  if (::bind(probe.get(), address.get(), address.length()) != 0) return errno;
  return 0;
}

Acceptor::Acceptor(EventLoop& loop, const InetAddress& address, bool reusePort)
    : loop_(loop),
      socket_(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)),
      spare_(openSpare()),
      refusal_(loop, 1, kRefusalLinger, [this] {
        if (!spare_.valid()) spare_ = openSpare();
      }) {
  if (!socket_.valid()) dieWithErrno("socket");
  setCommonListenerOptions(socket_.get(), address);
  const int on = 1;
  if (reusePort && ::setsockopt(socket_.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
    dieWithErrno("setsockopt(SO_REUSEPORT)");
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
  loop_.assertInLoopThread();
  onNewConnection_ = std::move(callback);
  if (!loop_.add(socket_.get(), EPOLLIN, this)) dieWithErrno("epoll_ctl(listener)");
}

void Acceptor::stop() {
  loop_.assertInLoopThread();
  if (resumeTimer_ != 0) {
    loop_.cancelTimer(resumeTimer_);
    resumeTimer_ = 0;
  }
  if (!socket_.valid()) return;
  if (!paused_) loop_.remove(socket_.get());
  paused_ = false;
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
        // One per readiness event: accept() fails with EMFILE before it looks at the
        // backlog, so looping on would refuse nobody and cut the last refusal's linger
        // short. If more connections wait, level-triggered epoll says so next iteration.
        refuseOneForDescriptors();
        return;
      default:
        spdlog::warn("accept failed: {}", std::strerror(errno));
        return;
    }
  }
}

void Acceptor::refuseOneForDescriptors() {
  // The slot kept for refusals holds the spare, or the previous refusal still lingering:
  // free it either way.
  refusal_.closeAll();
  spare_.reset();
  Fd refused(::accept4(socket_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  const int acceptErrno = errno;
  const bool accepted = refused.valid();
  if (accepted) {
    ++refusedForDescriptors_;
    if (!overloadReply_.empty()) {
      [[maybe_unused]] ssize_t n = ::send(refused.get(), overloadReply_.data(),
                                          overloadReply_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    // A plain close would reset a peer that already sent its name, and the reset can
    // destroy the reply on its way.
    refusal_.add(std::move(refused));
  }
  if (refusal_.size() == 0) spare_ = openSpare();
  const auto now = Clock::now();
  if (now - lastRefusalLog_ >= std::chrono::seconds(1)) {
    lastRefusalLog_ = now;
    spdlog::warn("out of file descriptors: refusing new connections ({} refused so far)",
                 refusedForDescriptors_);
  }
  if (!accepted && (acceptErrno == EMFILE || acceptErrno == ENFILE || !spare_.valid())) {
    // Another thread took the spare's slot: we cannot drain the backlog, so stop polling
    // the listener for a moment instead of spinning on a readiness we cannot clear.
    pauseAccepting();
  }
}

void Acceptor::pauseAccepting() {
  loop_.assertInLoopThread();
  if (paused_ || !socket_.valid()) return;
  paused_ = true;
  loop_.remove(socket_.get());
  resumeTimer_ = loop_.runAfter(kAcceptPause, [this] { resumeAccepting(); });
}

void Acceptor::resumeAccepting() {
  resumeTimer_ = 0;
  if (!paused_ || !socket_.valid()) return;
  if (loop_.add(socket_.get(), EPOLLIN, this)) {
    paused_ = false;
    return;
  }
  // Giving up here would leave the server deaf to new connections for good.
  spdlog::warn("cannot watch the listening socket again ({}); retrying in {} ms",
               std::strerror(errno), kAcceptPause.count());
  resumeTimer_ = loop_.runAfter(kAcceptPause, [this] { resumeAccepting(); });
}

}  // namespace classchat::net
