#include "bench/engine.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace classchat::bench {
namespace {

constexpr std::size_t kReadBufferBytes = 256 * 1024;
constexpr std::size_t kKeepOutputCapacity = 64 * 1024;
constexpr int kMaxEvents = 1024;
constexpr TimeNs kMaxWait = 50 * kMillisecond;

std::string errnoText(const char* what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

}  // namespace

// Routes the frames of one read to the handler, handling registration first.
class Engine::Dispatch final : public IncomingSink {
 public:
  Dispatch(Engine& engine, ClientId id, TimeNs now) : engine_(engine), id_(id), now_(now) {}
  void onIncoming(const Incoming& incoming) override {
    const State state = engine_.clients_[id_].state;
    if (state == State::kReady) {
      engine_.handler_.onIncoming(id_, incoming, now_);
    } else if (state == State::kHandshaking) {
      if (incoming.kind == Incoming::Kind::kWelcome) {
        engine_.clients_[id_].state = State::kReady;
        engine_.endPending(engine_.clients_[id_]);
        ++engine_.ready_;
        engine_.handler_.onReady(id_, now_);
      } else if (incoming.kind == Incoming::Kind::kError) {
        ++engine_.counters_.refusals;
        engine_.fail(id_, fmt::format("refused: {}", incoming.text));
      } else if (incoming.kind == Incoming::Kind::kReply) {
        std::string& out = engine_.clients_[id_].output;
        const std::size_t before = out.size();
        engine_.driver_.appendLoginReply(out, incoming);
        if (out.size() != before) engine_.output(id_);  // schedules the flush
      }
    }
  }
  void sendRaw(std::string_view bytes) override {
    if (engine_.clients_[id_].state != State::kClosed) engine_.output(id_).append(bytes);
  }
  void closeConnection(std::string_view reason) override { engine_.fail(id_, reason); }

 private:
  Engine& engine_;
  ClientId id_;
  TimeNs now_;
};

Engine::Engine(const EngineOptions& options, Driver& driver, EngineHandler& handler)
    : options_(options), driver_(driver), handler_(handler), readBuffer_(kReadBufferBytes) {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) throw std::runtime_error(errnoText("epoll_create1"));
}

Engine::~Engine() {
  for (Client& client : clients_) {
    if (client.fd >= 0) ::close(client.fd);
  }
  ::close(epoll_);
}

ClientId Engine::addClient(std::string name, std::size_t server) {
  const auto id = static_cast<ClientId>(clients_.size());
  clients_.push_back(Client{});
  clients_[id].name = std::move(name);
  clients_[id].server =
      static_cast<std::uint32_t>(options_.servers.empty() ? 0 : server % options_.servers.size());
  if (options_.maxPendingLogins != 0 && pending_ >= options_.maxPendingLogins) {
    waiting_.push_back(id);  // kConnecting with no socket until startWaiting()
    return id;
  }
  startConnect(id);
  return id;
}

void Engine::endPending(Client& client) {
  if (!client.pending) return;
  client.pending = false;
  --pending_;
}

void Engine::startWaiting() {
  while (!waiting_.empty() && pending_ < options_.maxPendingLogins) {
    const ClientId id = waiting_.front();
    waiting_.pop_front();
    if (clients_[id].state == State::kConnecting) startConnect(id);
  }
}

void Engine::startConnect(ClientId id) {
  clients_[id].pending = true;
  ++pending_;
  if (options_.servers.empty()) {
    ++counters_.connectFailures;
    fail(id, "no server address");
    return;
  }
  const ServerAddress& server = options_.servers[clients_[id].server];
  const int fd = ::socket(server.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ++counters_.connectFailures;
    fail(id, errnoText("socket"));
    return;
  }
  clients_[id].fd = fd;
  ++open_;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!options_.sources.empty() && server.family() == AF_INET) {
    // Let connect() pick the port, so the port only needs to be unique per 4-tuple.
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr = options_.sources[nextSource_++ % options_.sources.size()];
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
      ++counters_.connectFailures;
      fail(id, errnoText("bind"));
      return;
    }
  }
  if (::connect(fd, server.get(), server.length) != 0 && errno != EINPROGRESS) {
    ++counters_.connectFailures;
    fail(id, errnoText("connect"));
    return;
  }
  epoll_event event{};
  event.events = EPOLLOUT;
  event.data.u64 = id;
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) {
    ++counters_.connectFailures;
    fail(id, errnoText("epoll_ctl"));
    return;
  }
  clients_[id].wantWrite = true;
}

std::string& Engine::output(ClientId id) {
  Client& client = clients_[id];
  if (!client.dirty && client.state != State::kClosed) {
    client.dirty = true;
    dirty_.push_back(id);
  }
  return client.output;
}

std::size_t Engine::pendingOutput(ClientId id) const {
  return clients_[id].output.size() - clients_[id].outputHead;
}

void Engine::close(ClientId id) {
  Client& client = clients_[id];
  if (client.state == State::kClosed) return;
  if (client.state == State::kReady) --ready_;
  endPending(client);
  client.state = State::kClosed;
  client.tls.reset();
  if (client.fd >= 0) {
    ::close(client.fd);  // also removes it from the epoll set
    client.fd = -1;
    --open_;
  }
  std::string().swap(client.output);
  std::string().swap(client.input);
  client.outputHead = 0;
}

void Engine::fail(ClientId id, std::string_view reason) {
  const bool wasReady = clients_[id].state == State::kReady;
  if (clients_[id].state == State::kClosed) return;
  if (wasReady) {
    ++counters_.disconnects;
  } else if (clients_[id].state == State::kHandshaking && !reason.starts_with("refused")) {
    ++counters_.handshakeFailures;
  }
  close(id);
  handler_.onClosed(id, wasReady, reason);
}

void Engine::schedule(TimeNs when, ClientId client, std::uint32_t tag) {
  timers_.push(Timer{when, client, tag});
}

void Engine::updateInterest(ClientId id, bool wantWrite) {
  Client& client = clients_[id];
  if (client.wantWrite == wantWrite || client.fd < 0) return;
  epoll_event event{};
  event.events = EPOLLIN | (wantWrite ? static_cast<std::uint32_t>(EPOLLOUT) : 0u);
  event.data.u64 = id;
  ::epoll_ctl(epoll_, EPOLL_CTL_MOD, client.fd, &event);
  client.wantWrite = wantWrite;
}

void Engine::finishConnect(ClientId id) {
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(clients_[id].fd, SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) {
    ++counters_.connectFailures;
    fail(id, fmt::format("connect: {}", std::strerror(error)));
    return;
  }
  Client& client = clients_[id];
  if (options_.tls) {
    // The handshake runs inside the first writes and reads; the login waits in output.
    client.tls = transport::TlsStream::connect(*options_.tls, client.fd, "localhost");
    if (!client.tls) {
      fail(id, "cannot set up TLS");
      return;
    }
  }
  client.state = State::kHandshaking;
  driver_.appendLogin(client.output, client.name);
  updateInterest(id, false);
  // wantWrite was cleared above, so updateInterest(EPOLLIN only) took effect; write now.
  flush(id);
}

void Engine::flush(ClientId id) {
  Client& client = clients_[id];
  client.dirty = false;
  if (client.fd < 0 || client.state == State::kConnecting) return;
  while (client.outputHead < client.output.size()) {
    const char* data = client.output.data() + client.outputHead;
    const std::size_t size = client.output.size() - client.outputHead;
    const ssize_t n = client.tls ? client.tls->write(data, size) : ::write(client.fd, data, size);
    ++counters_.writeSyscalls;
    if (n > 0) {
      client.outputHead += static_cast<std::size_t>(n);
      counters_.bytesOut += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // A TLS write waiting for the handshake's input is retried on EPOLLIN.
      updateInterest(id, !(client.tls && client.tls->writeWaitsForReadable()));
      return;
    }
    fail(id, client.tls && errno == EPROTO ? client.tls->error() : errnoText("write"));
    return;
  }
  client.output.clear();
  client.outputHead = 0;
  if (client.output.capacity() > kKeepOutputCapacity) std::string().swap(client.output);
  updateInterest(id, client.tls && client.tls->readWaitsForWritable());
}

void Engine::handleReadable(ClientId id) {
  transport::TlsStream* tls = clients_[id].tls.get();
  const ssize_t n = tls ? tls->read(readBuffer_.data(), readBuffer_.size())
                        : ::read(clients_[id].fd, readBuffer_.data(), readBuffer_.size());
  ++counters_.readSyscalls;
  if (n == 0) {
    fail(id, "closed by server");
    return;
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      if (tls && tls->readWaitsForWritable()) updateInterest(id, true);
      return;
    }
    fail(id, tls && errno == EPROTO ? tls->error() : errnoText("read"));
    return;
  }
  counters_.bytesIn += static_cast<std::uint64_t>(n);
  const std::string_view bytes(readBuffer_.data(), static_cast<std::size_t>(n));
  Dispatch dispatch(*this, id, nowNs());
  // Callbacks may add clients (moving clients_), so parse from memory they cannot move.
  if (clients_[id].input.empty()) {
    const std::size_t used = driver_.parse(bytes, dispatch);
    if (clients_[id].state != State::kClosed && used < bytes.size()) {
      clients_[id].input.assign(bytes.substr(used));
    }
    return;
  }
  std::string pending = std::move(clients_[id].input);
  pending.append(bytes);
  const std::size_t used = driver_.parse(pending, dispatch);
  if (clients_[id].state != State::kClosed) clients_[id].input.assign(pending, used);
}

void Engine::handleEvent(ClientId id, std::uint32_t events) {
  if (id >= clients_.size() || clients_[id].state == State::kClosed) return;
  if (clients_[id].state == State::kConnecting) {
    finishConnect(id);
    return;
  }
  const bool tls = clients_[id].tls != nullptr;
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ||
      (tls && (events & EPOLLOUT) && clients_[id].tls->readWaitsForWritable())) {
    handleReadable(id);
    // Decrypted bytes TLS still holds would not wake epoll again.
    while (tls && clients_[id].state != State::kClosed && clients_[id].tls->hasBufferedInput()) {
      handleReadable(id);
    }
  }
  if (clients_[id].state == State::kClosed) return;
  if ((events & EPOLLOUT) ||
      (tls && pendingOutput(id) > 0 && clients_[id].tls->writeWaitsForReadable())) {
    flush(id);
  }
}

void Engine::runTimers(TimeNs now) {
  while (!timers_.empty() && timers_.top().when <= now) {
    const Timer timer = timers_.top();
    timers_.pop();
    if (clients_[timer.client].state == State::kClosed) continue;
    handler_.onTimer(timer.client, timer.tag, now);
  }
}

void Engine::run(TimeNs deadline, const std::function<bool()>& done) {
  stopped_ = false;
  epoll_event events[kMaxEvents];
  while (!stopped_) {
    TimeNs now = nowNs();
    if (now >= deadline || (done && done())) break;
    runTimers(now);
    startWaiting();
    for (std::size_t i = 0; i < dirty_.size(); ++i) {
      if (clients_[dirty_[i]].dirty) flush(dirty_[i]);
    }
    dirty_.clear();
    now = nowNs();
    TimeNs wakeAt = std::min(deadline, now + kMaxWait);
    if (!timers_.empty()) wakeAt = std::min(wakeAt, timers_.top().when);
    const TimeNs wait = std::max<TimeNs>(0, wakeAt - now);
    const timespec timeout{static_cast<time_t>(wait / kSecond), static_cast<long>(wait % kSecond)};
    const int n = ::epoll_pwait2(epoll_, events, kMaxEvents, &timeout, nullptr);
    for (int i = 0; i < n; ++i) {
      handleEvent(static_cast<ClientId>(events[i].data.u64), events[i].events);
    }
  }
  for (const ClientId id : dirty_) {
    if (clients_[id].dirty) flush(id);
  }
  dirty_.clear();
}

}  // namespace classchat::bench
