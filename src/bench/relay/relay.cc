// classchat-relay: the minimal message relay of issue #6, the limit to measure classchatd
// against. Wire format in relay_protocol.h: fixed 8-byte headers, binary bodies, a name
// per connection and nothing else.
//
// Deliberately the simplest fast design: one thread, one level-triggered epoll loop,
// non-blocking sockets. Frames are handled straight from the read buffer; what they
// produce is appended to the recipients' output buffers, and every buffer touched in an
// iteration is written once at its end (one write per connection per iteration). A shout
// is serialised once and copied into each listener's buffer. A connection whose pending
// output exceeds kMaxOutput (a slow consumer) or that breaks the protocol is closed, at
// the end of the iteration, never while its frames are being handled.
//
// Usage: classchat-relay [--host 127.0.0.1] [--port 0]. IPv4 only. Port 0 picks a free
// port; the bound address is printed as "listening on <host>:<port>". SIGINT or SIGTERM
// stops it with exit status 0.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench/relay/relay_protocol.h"

namespace classchat::bench::relay {
namespace {

constexpr std::size_t kMaxOutput = 16 * 1024 * 1024;
constexpr std::size_t kReadBytes = 256 * 1024;
constexpr int kMaxEvents = 512;
// epoll data for the two descriptors that are not connections.
constexpr std::uint64_t kListenTag = ~0ull;
constexpr std::uint64_t kSignalTag = ~0ull - 1;

struct Connection {
  int fd = -1;
  std::string name;    // empty until logged in
  std::string input;   // the incomplete frame at the end of the last read
  std::string output;  // not yet written, from outputHead on
  std::size_t outputHead = 0;
  std::size_t memberIndex = 0;  // position in Relay::members_ once logged in
  bool dirty = false;           // in Relay::dirty_
  bool wantWrite = false;       // EPOLLOUT registered
  bool closing = false;         // in Relay::closing_
};

// Lets the name map be searched with a string_view.
struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view name) const {
    return std::hash<std::string_view>{}(name);
  }
};

void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

class Relay {
 public:
  Relay(int listenFd, int signalFd) : listenFd_(listenFd), readBuffer_(kReadBytes) {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) die("epoll_create1");
    watch(listenFd, kListenTag);
    watch(signalFd, kSignalTag);
    spareFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }

  void run() {
    epoll_event events[kMaxEvents];
    for (;;) {
      const int n = ::epoll_wait(epoll_, events, kMaxEvents, -1);
      if (n < 0 && errno != EINTR) die("epoll_wait");
      for (int i = 0; i < n; ++i) {
        const std::uint64_t tag = events[i].data.u64;
        if (tag == kSignalTag) return;
        if (tag == kListenTag) {
          acceptAll();
          continue;
        }
        Connection& c = *connections_[tag];
        if (c.closing) continue;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) handleReadable(c);
        if ((events[i].events & EPOLLOUT) && !c.closing) markDirty(c);
      }
      for (Connection* c : dirty_) flush(*c);
      dirty_.clear();
      for (Connection* c : closing_) destroy(*c);
      closing_.clear();
    }
  }

 private:
  void watch(int fd, std::uint64_t tag, std::uint32_t events = EPOLLIN) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = tag;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) die("epoll_ctl");
  }

  void acceptAll() {
    for (;;) {
      const int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0 && errno == EMFILE) {
        // Out of descriptors: accept with the spare one and close at once, so the client
        // is refused instead of the level-triggered listener spinning the loop.
        ::close(spareFd_);
        const int refused = ::accept(listenFd_, nullptr, nullptr);
        if (refused >= 0) ::close(refused);
        spareFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (refused < 0) return;
        continue;
      }
      if (fd < 0) return;  // EAGAIN (or a connection that went away)
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (static_cast<std::size_t>(fd) >= connections_.size()) connections_.resize(fd + 1);
      connections_[fd] = std::make_unique<Connection>();
      connections_[fd]->fd = fd;
      watch(fd, static_cast<std::uint64_t>(fd));
    }
  }

  void handleReadable(Connection& c) {
    const ssize_t n = ::read(c.fd, readBuffer_.data(), readBuffer_.size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      close(c);
      return;
    }
    std::string_view bytes(readBuffer_.data(), static_cast<std::size_t>(n));
    std::string pending;
    if (!c.input.empty()) {  // rare: a frame split across reads
      pending = std::move(c.input);
      pending.append(bytes);
      bytes = pending;
    }
    while (bytes.size() >= kHeaderBytes) {
      const FrameHeader header = readHeader(bytes.data());
      if (header.length > kMaxBody) {
        close(c);
        return;
      }
      if (bytes.size() < kHeaderBytes + header.length) break;
      if (!handleFrame(c, static_cast<FrameType>(header.type),
                       bytes.substr(kHeaderBytes, header.length))) {
        close(c);
        return;
      }
      bytes.remove_prefix(kHeaderBytes + header.length);
    }
    c.input.assign(bytes);
  }

  // Returns false for a protocol violation.
  bool handleFrame(Connection& c, FrameType type, std::string_view body) {
    if (c.name.empty() && type != FrameType::kLogin && type != FrameType::kPing) return false;
    switch (type) {
      case FrameType::kLogin:
        if (!c.name.empty() || body.empty() || body.size() > kMaxName) return false;
        if (byName_.contains(body)) {
          appendFrame(output(c), FrameType::kError, "name taken");
          return true;
        }
        c.name = body;
        byName_.emplace(c.name, &c);
        c.memberIndex = members_.size();
        members_.push_back(&c);
        appendFrame(output(c), FrameType::kWelcome, {});
        return true;
      case FrameType::kDirect: {
        std::string_view to, text;
        if (!splitNamed(body, to, text)) return false;
        const auto found = byName_.find(to);
        if (found == byName_.end() || found->second->closing) {
          appendFrame(output(c), FrameType::kError, "no such user");
        } else {
          appendNamedFrame(output(*found->second), FrameType::kDeliver, c.name, text);
        }
        return true;
      }
      case FrameType::kShout:
        scratch_.clear();
        appendNamedFrame(scratch_, FrameType::kBroadcast, c.name, body);
        for (Connection* member : members_) {
          if (member != &c && !member->closing) output(*member) += scratch_;
        }
        return true;
      case FrameType::kPing:
        appendFrame(output(c), FrameType::kPong, body);
        return true;
      default:
        return false;
    }
  }

  // The connection's output buffer, to be written at the end of this iteration.
  std::string& output(Connection& c) {
    markDirty(c);
    return c.output;
  }

  void markDirty(Connection& c) {
    if (c.dirty) return;
    c.dirty = true;
    dirty_.push_back(&c);
  }

  void flush(Connection& c) {
    c.dirty = false;
    if (c.closing) return;
    while (c.outputHead < c.output.size()) {
      const ssize_t n = ::send(c.fd, c.output.data() + c.outputHead, c.output.size() - c.outputHead,
                               MSG_NOSIGNAL);
      if (n > 0) {
        c.outputHead += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        break;
      } else {
        close(c);
        return;
      }
    }
    if (c.output.size() - c.outputHead > kMaxOutput) {
      close(c);  // a slow consumer
      return;
    }
    if (c.outputHead == c.output.size()) {
      c.output.clear();
      c.outputHead = 0;
    } else if (c.outputHead > c.output.size() / 2) {
      c.output.erase(0, c.outputHead);
      c.outputHead = 0;
    }
    const bool wantWrite = !c.output.empty();
    if (wantWrite == c.wantWrite) return;
    c.wantWrite = wantWrite;
    epoll_event event{};
    event.events = EPOLLIN | (wantWrite ? static_cast<std::uint32_t>(EPOLLOUT) : 0u);
    event.data.u64 = static_cast<std::uint64_t>(c.fd);
    ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &event);
  }

  // Marks the connection to be destroyed at the end of the iteration; until then it gets
  // no more events or messages.
  void close(Connection& c) {
    if (c.closing) return;
    c.closing = true;
    closing_.push_back(&c);
  }

  void destroy(Connection& c) {
    if (!c.name.empty()) {
      byName_.erase(c.name);
      Connection* last = members_.back();
      members_[c.memberIndex] = last;
      last->memberIndex = c.memberIndex;
      members_.pop_back();
    }
    const int fd = c.fd;
    ::close(fd);  // also leaves the epoll set
    connections_[fd].reset();
  }

  int epoll_ = -1;
  int listenFd_;
  int spareFd_ = -1;  // reserved for refusing connections when out of descriptors
  std::vector<char> readBuffer_;
  std::vector<std::unique_ptr<Connection>> connections_;  // by descriptor
  std::unordered_map<std::string, Connection*, NameHash, std::equal_to<>> byName_;
  std::vector<Connection*> members_;  // logged in: the shout audience
  std::vector<Connection*> dirty_;
  std::vector<Connection*> closing_;
  std::string scratch_;  // a shout's frame, built once per shout
};

int listenOn(const char* host, int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host, &address.sin_addr) != 1) {
    std::fprintf(stderr, "classchat-relay: not an IPv4 address: %s\n", host);
    std::exit(2);
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, SOMAXCONN) != 0) {
    die("listen");
  }
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  std::printf("listening on %s:%d\n", host, ntohs(address.sin_port));
  std::fflush(stdout);
  return fd;
}

}  // namespace
}  // namespace classchat::bench::relay

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--host" && i + 1 < argc) {
      host = argv[++i];
    } else if (arg == "--port" && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: classchat-relay [--host 127.0.0.1] [--port 0]\n");
      return arg == "--help" ? 0 : 2;
    }
  }
  // The stop signals arrive through a descriptor in the loop, so none can be missed.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stopSignals, nullptr);
  const int signalFd = ::signalfd(-1, &stopSignals, SFD_CLOEXEC);
  if (signalFd < 0) classchat::bench::relay::die("signalfd");
  classchat::bench::relay::Relay relay(classchat::bench::relay::listenOn(host, port), signalFd);
  relay.run();
  return 0;
}
