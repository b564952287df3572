// The load engine: many non-blocking client connections on one epoll loop.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "bench/address.h"
#include "bench/clock.h"
#include "bench/driver.h"
#include "transport/tls_context.h"
#include "transport/tls_stream.h"

namespace classchat::bench {

using ClientId = std::uint32_t;

// What a scenario (stress, throughput, ramp worker) does with the engine's events.
// All callbacks run on the engine's thread and may call back into the engine.
class EngineHandler {
 public:
  virtual ~EngineHandler() = default;
  // The server accepted the client's name.
  virtual void onReady(ClientId client, TimeNs now) = 0;
  // A frame arrived after registration.
  virtual void onIncoming(ClientId client, const Incoming& incoming, TimeNs now) = 0;
  // The connection failed, was refused, or closed. `wasReady` says whether it had
  // registered. Not called for clients the scenario closed itself.
  virtual void onClosed(ClientId client, bool wasReady, std::string_view reason) = 0;
  // A timer set with Engine::schedule fired.
  virtual void onTimer(ClientId client, std::uint32_t tag, TimeNs now) = 0;
};

struct EngineOptions {
  // The servers (one, or the nodes of a cluster); each client connects to the one its
  // addClient() names.
  std::vector<ServerAddress> servers;
  // IPv4 source addresses to bind before connect, used in turn (empty, or an IPv6
  // server: let the kernel pick).
  // Spreading clients over 127.0.0.x lifts the limit of ~28k ephemeral ports per
  // source address.
  std::vector<in_addr> sources;
  // --tls: every client speaks TLS through this context (null: plain TCP).
  std::shared_ptr<transport::TlsContext> tls;
  // At most this many clients connecting or logging in at once; the rest wait their turn
  // (0: no limit). classchatd answers 503 to more than 64 HTTP connections per loop that
  // have not finished their WebSocket upgrade, so --transport ws logs clients in a few
  // at a time (kWebSocketPendingLogins).
  std::size_t maxPendingLogins = 0;
};

// maxPendingLogins for --transport ws: low enough that three ramp workers together stay
// under classchatd's 64 unfinished HTTP connections of one loop.
inline constexpr std::size_t kWebSocketPendingLogins = 16;

// Counters of the engine itself.
struct EngineCounters {
  std::uint64_t connectFailures = 0;    // socket/connect errors
  std::uint64_t refusals = 0;           // server said Error before welcome
  std::uint64_t handshakeFailures = 0;  // closed before welcome for another reason
  std::uint64_t disconnects = 0;        // closed after registering
  std::uint64_t bytesIn = 0;
  std::uint64_t bytesOut = 0;
  std::uint64_t writeSyscalls = 0;
  std::uint64_t readSyscalls = 0;
};

// One loop, one thread, any number of clients. Client ids are indices that are never
// reused, so a late event for a closed client is simply ignored.
//
// Output is buffered per client and written once per loop iteration (the scenario's
// sends within one iteration cost one write per client). Timers are a min-heap of
// (time, client, tag) with no allocation per timer.
//
// Thread-safety: none. Create, use and destroy on one thread. The Driver and handler
// must outlive the engine.
class Engine {
 public:
  enum class State : std::uint8_t { kConnecting, kHandshaking, kReady, kClosed };

  Engine(const EngineOptions& options, Driver& driver, EngineHandler& handler);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts a non-blocking connect to servers[server % servers.size()] for a client that
  // will register as `name` (later, in run(), if maxPendingLogins clients are already
  // connecting or logging in).
  ClientId addClient(std::string name, std::size_t server = 0);
  // The client's output buffer: append protocol bytes (with the driver) and they are
  // written at the end of the iteration. Only for clients in kReady.
  std::string& output(ClientId client);
  // Closes the connection now; no onClosed callback.
  void close(ClientId client);
  void schedule(TimeNs when, ClientId client, std::uint32_t tag);

  // Runs until `deadline`, stop(), or `done` returns true (checked every iteration).
  void run(TimeNs deadline, const std::function<bool()>& done = {});
  void stop() { stopped_ = true; }

  State state(ClientId client) const { return clients_[client].state; }
  // The index in EngineOptions::servers of the server the client connects to.
  std::size_t server(ClientId client) const { return clients_[client].server; }
  const std::string& name(ClientId client) const { return clients_[client].name; }
  std::size_t pendingOutput(ClientId client) const;
  std::size_t clientCount() const { return clients_.size(); }
  std::size_t readyCount() const { return ready_; }
  std::size_t openCount() const { return open_; }
  const EngineCounters& counters() const { return counters_; }
  Driver& driver() { return driver_; }

 private:
  struct Client {
    std::string name;
    std::string input;   // an incomplete frame carried to the next read
    std::string output;  // bytes not yet written; the first outputHead bytes are done
    std::size_t outputHead = 0;
    std::unique_ptr<transport::TlsStream> tls;  // --tls: set once the TCP connect is done
    int fd = -1;
    std::uint32_t server = 0;  // index in options_.servers
    State state = State::kConnecting;
    bool dirty = false;      // in dirty_, to be flushed this iteration
    bool wantWrite = false;  // EPOLLOUT registered
    bool pending = false;    // counted in pending_: connecting or logging in
  };
  struct Timer {
    TimeNs when;
    ClientId client;
    std::uint32_t tag;
    bool operator>(const Timer& other) const { return when > other.when; }
  };
  class Dispatch;

  void startConnect(ClientId id);
  void startWaiting();
  void endPending(Client& client);
  void handleEvent(ClientId id, std::uint32_t events);
  void finishConnect(ClientId id);
  void handleReadable(ClientId id);
  void flush(ClientId id);
  void fail(ClientId id, std::string_view reason);
  void updateInterest(ClientId id, bool wantWrite);
  void runTimers(TimeNs now);

  EngineOptions options_;
  Driver& driver_;
  EngineHandler& handler_;
  int epoll_ = -1;
  std::vector<Client> clients_;
  std::vector<ClientId> dirty_;
  std::deque<ClientId> waiting_;  // added, not yet connecting (maxPendingLogins)
  std::size_t pending_ = 0;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::vector<char> readBuffer_;
  EngineCounters counters_;
  std::size_t nextSource_ = 0;
  std::size_t ready_ = 0;
  std::size_t open_ = 0;
  bool stopped_ = false;
};

}  // namespace classchat::bench
