#include "server/chat_server.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include "net/acceptor.h"
#include "protocol/json_writer.h"
#include "web/web_assets.h"

namespace classchat::server {
namespace {

std::uint64_t openFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
  return limit.rlim_cur;
}

// Resolves --max-connections against the open-file limit, and logs the choice.
ServerOptions withConnectionCap(ServerOptions options) {
  std::string note;
  bool lowered = false;
  options.maxConnections = resolveMaxConnections(options.maxConnections, openFileLimit(),
                                                 options.threads, note, lowered);
  if (lowered) {
    spdlog::warn("{}", note);
  } else {
    spdlog::info("{}", note);
  }
  return options;
}

}  // namespace

std::size_t reservedDescriptors(unsigned threads) {
  constexpr std::size_t kStandardStreams = 3, kPerLoop = 4, kMargin = 32;
  return kStandardStreams + kPerLoop * threads + kMargin;
}

std::size_t resolveMaxConnections(std::size_t requested, std::uint64_t openFileLimit,
                                  unsigned threads, std::string& note, bool& lowered) {
  lowered = false;
  if (openFileLimit == 0) {
    note = requested == 0 ? std::string("max connections: unlimited (no open-file limit)")
                          : fmt::format("max connections: {} (no open-file limit)", requested);
    return requested;
  }
  const std::size_t reserved = reservedDescriptors(threads);
  const std::size_t fit = openFileLimit > reserved + 1 ? openFileLimit - reserved : 1;
  if (requested == 0) {
    note = fmt::format("max connections: {} (open-file limit {} less {} for the server itself)",
                       fit, openFileLimit, reserved);
    return fit;
  }
  if (requested > fit) {
    lowered = true;
    note = fmt::format(
        "--max-connections {} is above what the open-file limit {} allows; lowered to {} ({} "
        "descriptors kept for the server itself; raise the limit with ulimit -n)",
        requested, openFileLimit, fit, reserved);
    return fit;
  }
  note = fmt::format("max connections: {} (open-file limit {})", requested, openFileLimit);
  return requested;
}

ChatServer::ChatServer(ServerOptions options)
    : options_(withConnectionCap(std::move(options))),
      limiter_(options_.maxConnections, options_.maxConnectionsPerIp),
      moderation_(options_.bansPath),
      verifier_(std::make_unique<PasswordVerifier>()) {}

ChatServer::~ChatServer() {
  shutdown();
}

void ChatServer::start() {
  auto address = net::InetAddress::parse(options_.host, options_.port);
  if (!address) throw std::runtime_error("--host must be a numeric IPv4 or IPv6 address");
  // Every loop listens with SO_REUSEPORT, which would also let this server share a port
  // that another one already serves, each getting part of the class. Refuse that unless
  // it was asked for.
  auto probe = [&](const net::InetAddress& where, std::string_view flag) {
    if (options_.reusePort || where.port() == 0) return;
    if (const int error = net::Acceptor::probeBind(where); error != 0) {
      throw std::runtime_error(fmt::format(
          "bind {}: {}{}", where.toString(), std::strerror(error),
          error == EADDRINUSE
              ? fmt::format(". Another server is already listening on this port: stop it, or "
                            "choose another {} (--reuse-port shares a port on purpose)",
                            flag)
              : ""));
    }
  };
  if (options_.plain) probe(*address, "--port");
  std::string error;
  std::optional<net::InetAddress> tlsAddress;
  if (options_.tls()) {
    tlsAddress = net::InetAddress::parse(options_.host, options_.tlsPort);
    probe(*tlsAddress, "--tls-port");
    auto context = transport::TlsContext::server(options_.tlsCert, options_.tlsKey, error);
    if (!context) throw std::runtime_error(error);
    tlsContexts_.replace(std::move(context));
  }
  std::optional<net::InetAddress> httpAddress;
  if (options_.http) {
    httpAddress = net::InetAddress::parse(options_.httpHost, options_.httpPort);
    if (!httpAddress)
      throw std::runtime_error("--http-host must be a numeric IPv4 or IPv6 address");
    probe(*httpAddress, "--http-port (or --no-http)");
  }
  if (!options_.accountsPath.empty()) {
    if (!accounts_.load(options_.accountsPath, error)) throw std::runtime_error(error);
    spdlog::info("{} protected name(s) from {}", accounts_.snapshot()->size(),
                 options_.accountsPath);
  }
  if (!moderation_.load(error)) throw std::runtime_error(error);
  if (options_.cluster()) {
    hub::ClusterOptions cluster;
    cluster.endpoint.host = options_.redisHost;
    cluster.endpoint.port = options_.redisPort;
    cluster.prefix = options_.redisPrefix;
    cluster.lease = options_.nodeLease;
    // PROTOCOL.md, section 9 (one literal, as test_server_protocol_doc looks for it).
    // clang-format off
    cluster.takenWhileFenced.notice = "Error: this server lost contact with the chat directory for a while, and meanwhile another user took your name; disconnecting";
    // clang-format on disconnecting";
    cluster_ = std::make_unique<hub::ClusterNode>(std::move(cluster));
  }
  const HubFactory makeHub = hubFactory();
  for (std::uint32_t i = 0; i < options_.threads; ++i) {
    Unit unit;
    unit.loop = std::make_unique<net::EventLoop>();
    // With --no-plain the loop's TcpServer listens on the TLS port only.
    unit.chat =
        std::make_unique<ChatLoop>(*unit.loop, i, options_.plain ? *address : *tlsAddress, makeHub,
                                   limiter_, options_, accounts_, moderation_, *verifier_);
    if (options_.tls()) attachTls(unit, *tlsAddress);
    if (i == 0) {
      // With port 0 the kernel picks a port; the other loops listen on the same one.
      net::TcpServer& tcp = unit.chat->tcp();
      if (options_.plain) {
        address = net::InetAddress::parse(options_.host, tcp.localAddress().port());
      }
      if (options_.tls()) {
        tlsAddress = net::InetAddress::parse(options_.host, options_.plain
                                                                ? tcp.codecListenerAddress()->port()
                                                                : tcp.localAddress().port());
      }
    }
    units_.push_back(std::move(unit));
  }
  if (options_.http) {
    transport::HttpEndpointOptions httpOptions;
    httpOptions.requestTimeout = options_.httpRequestTimeout;
    // WebSocket chat connections live on the HTTP port: the chat's output limit applies.
    httpOptions.maxOutputBytes = options_.maxOutputBytes;
    httpOptions.origins.allowed = options_.httpAllowedOrigins;
    for (std::uint32_t i = 0; i < units_.size(); ++i) {
      units_[i].http = std::make_unique<transport::HttpEndpoint>(
          *units_[i].loop, i, *httpAddress,
          [this](const transport::HttpRequest& request) { return serveHttp(request); },
          httpOptions);
      units_[i].http->setWebSocketAdopter(units_[i].chat.get());
      if (options_.tls()) {
        // With a certificate the HTTP port speaks HTTPS (and so WSS) only: the page's
        // script connects to wss:// when it was loaded over https://.
        transport::TlsListenerOptions tlsOptions;
        tlsOptions.maxHandshakes = options_.tlsMaxHandshakes;
        tlsOptions.handshakeTimeout = options_.tlsHandshakeTimeout;
        tlsOptions.plainTextReply =
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 37\r\nConnection: close\r\n\r\nThis port speaks HTTPS: use https://\n";
        units_[i].httpsTls =
            std::make_unique<transport::TlsListener>(*units_[i].loop, tlsContexts_, tlsOptions);
        net::TcpServer& tcp = units_[i].http->tcp();
        tcp.setCodecFactory(units_[i].httpsTls->factory(tcp));
        tcp.setOverloadReply("");
      }
      if (i == 0) {
        httpAddress =
            net::InetAddress::parse(options_.httpHost, units_[0].http->localAddress().port());
      }
    }
  }
  startedAt_ = std::chrono::steady_clock::now();
  for (LocalHub* hub : localHubs_) hub->connectPeers(localHubs_);
  for (Unit& unit : units_) {
    unit.chat->start();
    if (unit.http) unit.http->start();
    unit.thread = std::thread([loop = unit.loop.get()] { loop->run(); });
  }
  if (cluster_) {
    spdlog::info("cluster: node {} joining through Redis at {}:{} (key prefix '{}')",
                 cluster_->keys().node, options_.redisHost, options_.redisPort,
                 options_.redisPrefix);
    cluster_->start();
    // Every claim needs the lease: do not report "listening" before it is held.
    constexpr auto kLeaseWait = std::chrono::seconds(10);
    if (!cluster_->waitForLease(kLeaseWait)) {
      throw std::runtime_error(fmt::format(
          "--redis {}:{}: no lease from Redis within {} s (is redis-server running there?)",
          options_.redisHost, options_.redisPort, kLeaseWait.count()));
    }
  }
}

HubFactory ChatServer::hubFactory() {
  return [this](net::EventLoop& loop, std::uint32_t loopIndex,
                LocalDelivery& delivery) -> std::unique_ptr<Hub> {
    auto hub = std::make_unique<LocalHub>(loop, loopIndex, registry_, delivery,
                                          LocalHubOptions{options_.maxLoopQueueBytes});
    localHubs_.push_back(hub.get());
    if (!cluster_) return hub;
    // --redis: the LocalHub keeps this node's own directory and paths; the RedisHub adds the
    // cluster around it.
    auto clustered =
        std::make_unique<hub::RedisHub>(loop, loopIndex, std::move(hub), delivery, *cluster_);
    cluster_->addHub(loopIndex, loop, clustered.get());
    redisHubs_.push_back(clustered.get());
    return clustered;
  };
}

std::uint16_t ChatServer::port() const {
  return units_.empty() ? 0 : units_.front().chat->tcp().localAddress().port();
}

std::uint16_t ChatServer::tlsPort() const {
  if (units_.empty() || !options_.tls()) return 0;
  const net::TcpServer& tcp = units_.front().chat->tcp();
  return options_.plain ? tcp.codecListenerAddress()->port() : tcp.localAddress().port();
}

void ChatServer::attachTls(Unit& unit, const net::InetAddress& address) {
  transport::TlsListenerOptions tlsOptions;
  tlsOptions.maxHandshakes = options_.tlsMaxHandshakes;
  // Separate from --handshake-timeout (the name's deadline), which may be off: a TLS
  // handshake holds much more memory than a connection waiting for a name.
  tlsOptions.handshakeTimeout = options_.tlsHandshakeTimeout;
  // The class's clients send their name first: a plain one on the TLS port gets a reason.
  tlsOptions.plainTextReply = protocol::serverFrame(
      "", options_.plain ? fmt::format("Error: this port speaks TLS; connect with TLS, or "
                                       "without it to port {}",
                                       unit.chat->tcp().localAddress().port())
                         : std::string("Error: this port speaks TLS; connect with TLS"));
  unit.tls = std::make_unique<transport::TlsListener>(*unit.loop, tlsContexts_, tlsOptions);
  net::TcpServer& tcp = unit.chat->tcp();
  if (options_.plain) {
    tcp.addCodecListener(address, unit.tls->factory(tcp));
  } else {
    tcp.setCodecFactory(unit.tls->factory(tcp));
    // The out-of-descriptors refusal is plain text, which means nothing to a TLS client.
    tcp.setOverloadReply("");
  }
}

std::uint16_t ChatServer::httpPort() const {
  return units_.empty() || !units_.front().http ? 0 : units_.front().http->localAddress().port();
}

transport::HttpResponse ChatServer::serveHttp(const transport::HttpRequest& request) const {
  if (request.path == "/healthz") {
    if (shuttingDown_.load()) return {503, "text/plain; charset=utf-8", "shutting down\n", {}};
    return {200, "text/plain; charset=utf-8", "ok\n", {}};
  }
  if (request.path == "/metrics") {
    std::vector<const LoopMetrics*> loops;
    ServerFigures figures;
    for (const Unit& unit : units_) {
      loops.push_back(&unit.chat->metrics());
      // WebSocket chat frames are written by the loop's HTTP endpoint.
      figures.bytesSentByLoop.push_back(unit.chat->tcp().bytesWritten() +
                                        (unit.http ? unit.http->bytesWritten() : 0));
      figures.postedTasksByLoop.push_back(unit.loop->pendingTaskCount());
      figures.postedBytesByLoop.push_back(unit.loop->pendingBytes());
    }
    for (const LocalHub* hub : localHubs_) {
      figures.shedFrames += hub->shedFrames();
      figures.shedBytes += hub->shedBytes();
    }
    if (cluster_) {
      const hub::ClusterCounters& c = cluster_->counters();
      ClusterFigures cluster;
      cluster.epoch = cluster_->epoch();
      cluster.fenced = c.fenced.load();
      cluster.reasserted = c.reasserted.load();
      cluster.takenWhileFenced = c.takenWhileFenced.load();
      cluster.swept = c.swept.load();
      cluster.janitorFreed = c.janitorFreed.load();
      cluster.subscriptionCuts = c.subscriptionCuts.load();
      cluster.remoteDirectIn = c.remoteDirectIn.load();
      cluster.remoteShoutsIn = c.remoteShoutsIn.load();
      for (const hub::RedisHub* hub : redisHubs_) {
        cluster.remoteDirectOut += hub->remoteDirectOut();
        cluster.routeCalls += hub->routeCalls();
        cluster.shedToRedis += hub->shedToRedis();
      }
      figures.cluster = cluster;
    }
    figures.uptimeSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - startedAt_).count();
    figures.shuttingDown = shuttingDown_.load();
    return {200, "text/plain; version=0.0.4; charset=utf-8", renderPrometheus(loops, figures), {}};
  }
  if (const web::WebAsset* asset = web::findWebAsset(request.path)) {
    transport::HttpResponse response{
        200, std::string(asset->contentType), std::string(asset->body), {}};
    // The page loads only its own files and talks only to this server; names and
    // messages are inserted as text, and this forbids inline script as a second guard.
    response.headers.emplace_back("Content-Security-Policy",
                                  "default-src 'none'; script-src 'self'; style-src 'self'; "
                                  "img-src 'self' data:; connect-src 'self'; "
                                  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    response.headers.emplace_back("Referrer-Policy", "no-referrer");
    return response;
  }
  return {404, "text/plain; charset=utf-8", "not found: try /, /ws, /healthz or /metrics\n", {}};
}

void ChatServer::reload() {
  std::string error;
  if (options_.tls()) {
    // Connections accepted from now on use the new context; established ones keep the
    // SSL_CTX they were made from (each SSL holds a reference on it).
    if (auto context = transport::TlsContext::server(options_.tlsCert, options_.tlsKey, error)) {
      tlsContexts_.replace(std::move(context));
      spdlog::info("reload: TLS certificate from {}", options_.tlsCert);
    } else {
      spdlog::error("reload: keeping the TLS certificate in use: {}", error);
    }
  }
  if (!options_.accountsPath.empty()) {
    if (accounts_.load(options_.accountsPath, error)) {
      spdlog::info("reload: {} protected name(s) from {}", accounts_.snapshot()->size(),
                   options_.accountsPath);
      for (Unit& unit : units_) {
        ChatLoop* chat = unit.chat.get();
        unit.loop->post([chat] { chat->dropRemovedAccounts(); });
      }
    } else {
      spdlog::error("reload: keeping the accounts in use: {}", error);
    }
  }
  if (!options_.bansPath.empty()) {
    if (moderation_.load(error)) {
      spdlog::info("reload: {} ban(s) from {}", moderation_.bans().size(), options_.bansPath);
    } else {
      spdlog::error("reload: keeping the bans in use: {}", error);
    }
  }
}

void ChatServer::shutdown() {
  shuttingDown_.store(true);
  // Drop the lease first: no new claims here, and the other nodes' janitors free whatever
  // names this node's closing sessions do not release themselves.
  if (cluster_ && !units_.empty() && units_.front().thread.joinable()) {
    cluster_->stop(std::chrono::seconds(1));
  }
  for (Unit& unit : units_) {
    if (!unit.thread.joinable()) continue;
    ChatLoop* chat = unit.chat.get();
    unit.loop->post([chat] { chat->beginShutdown(); });
  }
  for (Unit& unit : units_) {
    if (unit.thread.joinable()) unit.thread.join();
  }
  // Loops are destroyed only after every thread has stopped, since posted tasks may
  // refer to other loops' hubs; the verifier stops first, since its callbacks post to them.
  verifier_.reset();
  cluster_.reset();  // its Redis links live on loop 0, destroyed below
  redisHubs_.clear();
  localHubs_.clear();
  units_.clear();
}

}  // namespace classchat::server
