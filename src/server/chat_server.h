// classchatd assembled: one ChatLoop per thread, sharing a NameRegistry (and, with --redis,
// a ClusterNode).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "hub/cluster_node.h"
#include "hub/local_hub.h"
#include "hub/name_registry.h"
#include "hub/redis_hub.h"
#include "net/event_loop.h"
#include "server/accounts.h"
#include "server/chat_loop.h"
#include "server/connection_limiter.h"
#include "server/moderation.h"
#include "server/options.h"
#include "server/password_verifier.h"
#include "transport/http_endpoint.h"
#include "transport/tls_context.h"
#include "transport/tls_listener.h"

namespace classchat::server {

// Descriptors the server keeps for itself besides its connections: stdin, stdout and
// stderr; per loop a listener, an epoll instance, an eventfd and the spare for EMFILE; and a
// margin (as Redis keeps 32) for refusals in progress, log files and the like.
std::size_t reservedDescriptors(unsigned threads);

// What --max-connections becomes, as Redis sizes maxclients: 0 (the default) is the
// open-file limit less reservedDescriptors(), so that the clean "server is full" refusal,
// not EMFILE, is the normal path; a request above that is lowered to it. `note` says what
// was chosen and why, for the log; `lowered` is set when a request was cut.
std::size_t resolveMaxConnections(std::size_t requested, std::uint64_t openFileLimit,
                                  unsigned threads, std::string& note, bool& lowered);

// Owns the loops and their threads. start(), port() and shutdown() are called from the
// main thread only.
class ChatServer {
 public:
  explicit ChatServer(ServerOptions options);
  ~ChatServer();

  // Binds every loop's listener (throws std::runtime_error on failure) and starts the
  // loop threads.
  void start();
  // The plain port (with --no-plain, the TLS port).
  std::uint16_t port() const;
  // The TLS port (0 without TLS).
  std::uint16_t tlsPort() const;
  // The HTTP port (0 with --no-http).
  std::uint16_t httpPort() const;
  // The answer to one HTTP request (/healthz, /metrics). Thread-safe: runs on whichever
  // loop accepted the request and only reads other loops' counters.
  transport::HttpResponse serveHttp(const transport::HttpRequest& request) const;
  // SIGHUP: reloads --accounts, --bans and the TLS certificate and key (new connections
  // get the new certificate; established ones keep theirs); sessions whose account was
  // removed are disconnected. A file that cannot be read or parsed is logged and the old one kept.
  void reload();
  // Says goodbye to every client, waits for the loops to finish (at most the shutdown
  // grace plus a moment) and joins their threads.
  void shutdown();

 private:
  struct Unit {
    std::unique_ptr<net::EventLoop> loop;
    std::unique_ptr<ChatLoop> chat;
    std::unique_ptr<transport::HttpEndpoint> http;     // null with --no-http
    std::unique_ptr<transport::TlsListener> tls;       // null without TLS
    std::unique_ptr<transport::TlsListener> httpsTls;  // the HTTP port's, with TLS and HTTP
    std::thread thread;
  };
  // Wires a TlsListener into the unit's TcpServer: a second listener on `address`, or
  // (--no-plain) the TcpServer's only one.
  void attachTls(Unit& unit, const net::InetAddress& address);
  // The one place that chooses the hub engine: a LocalHub per loop (wired together once
  // every loop exists); a cluster option builds its hubs here instead.
  HubFactory hubFactory();

  ServerOptions options_;
  NameRegistry registry_;
  ConnectionLimiter limiter_;
  Accounts accounts_;
  Moderation moderation_;
  transport::TlsContextSlot tlsContexts_;  // outlives the loops: their SSLs were made from it
  // Stopped before the loops are destroyed: its callbacks post to them.
  std::unique_ptr<PasswordVerifier> verifier_;
  std::vector<Unit> units_;
  // The LocalHubs hubFactory() built, by loop (empty for another engine): wired together
  // in start(), and read for their counters by /metrics.
  std::vector<LocalHub*> localHubs_;
  // With --redis: this process's membership of the cluster (lease, janitor, subscription),
  // and each loop's RedisHub (wrapping the LocalHubs above). Reset after the loops stopped
  // and before they are destroyed (its Redis links live on loop 0).
  std::unique_ptr<hub::ClusterNode> cluster_;
  std::vector<hub::RedisHub*> redisHubs_;
  std::chrono::steady_clock::time_point startedAt_{};
  std::atomic<bool> shuttingDown_{false};
};

}  // namespace classchat::server
