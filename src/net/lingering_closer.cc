#include "net/lingering_closer.h"

#include <sys/socket.h>

#include <cerrno>

namespace classchat::net {
namespace {
// Reads per readiness event (of up to 64 KiB each), so that a peer that keeps sending
// cannot hold the loop; level-triggered epoll brings us back for the rest.
constexpr int kMaxReadsPerEvent = 16;
}  // namespace

class LingeringCloser::Entry final : public IoHandler {
 public:
  Entry(LingeringCloser& closer, Fd fd) : owner(closer), socket(std::move(fd)) {}
  void handleEvent(std::uint32_t) override {
    if (socket.valid()) owner.discardInput(*this);
  }

  LingeringCloser& owner;
  Fd socket;  // invalid once finished
  TimerId deadline = 0;
};

LingeringCloser::LingeringCloser(EventLoop& loop, std::size_t maxSockets, Clock::duration timeout,
                                 std::function<void()> onSocketClosed)
    : loop_(loop),
      maxSockets_(maxSockets),
      timeout_(timeout),
      onSocketClosed_(std::move(onSocketClosed)) {
  loop_.addBeforeSleepHook([this] { finished_.clear(); });
}

LingeringCloser::~LingeringCloser() {
  for (auto& [key, entry] : lingering_) {
    loop_.remove(entry->socket.get());
    if (entry->deadline != 0) loop_.cancelTimer(entry->deadline);
  }
}

bool LingeringCloser::add(Fd socket) {
  loop_.assertInLoopThread();
  if (lingering_.size() >= maxSockets_) {
    ++overflowed_;
    return false;
  }
  // Our FIN follows the queued output; ENOTCONN here means the peer is already gone.
  if (::shutdown(socket.get(), SHUT_WR) != 0) return false;
  auto entry = std::make_unique<Entry>(*this, std::move(socket));
  Entry* key = entry.get();
  if (!loop_.add(key->socket.get(), EPOLLIN | EPOLLRDHUP, key)) return false;
  key->deadline = loop_.runAfter(timeout_, [this, key] {
    key->deadline = 0;
    finish(*key);
  });
  lingering_.emplace(key, std::move(entry));
  return true;
}

void LingeringCloser::closeAll() {
  loop_.assertInLoopThread();
  while (!lingering_.empty()) {
    Entry& entry = *lingering_.begin()->second;
    // One read pass: input that is already here would otherwise turn the close into an RST.
    discardInput(entry);
    if (entry.socket.valid()) finish(entry);
  }
}

void LingeringCloser::discardInput(Entry& entry) {
  char* scratch = loop_.readBuffer();
  for (int i = 0; i < kMaxReadsPerEvent; ++i) {
    const ssize_t n = ::recv(entry.socket.get(), scratch, loop_.readBufferSize(), MSG_DONTWAIT);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    // EOF: the peer has everything and closed too. An error: it is gone. Either way, done.
    finish(entry);
    return;
  }
}

void LingeringCloser::finish(Entry& entry) {
  const auto found = lingering_.find(&entry);
  if (found == lingering_.end()) return;
  loop_.remove(entry.socket.get());
  if (entry.deadline != 0) loop_.cancelTimer(entry.deadline);
  entry.deadline = 0;
  entry.socket.reset();
  finished_.push_back(std::move(found->second));
  lingering_.erase(found);
  if (onSocketClosed_) onSocketClosed_();
}

}  // namespace classchat::net
