// classchatd's command-line options.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace classchat::server {

// --shout-batch-ms's default with --redis: a listener gets shouts at most 100 times a
// second (in batches), which adds at most 10 ms to a shout that follows another closely.
inline constexpr std::chrono::microseconds kClusterShoutBatchWindow{10'000};

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 65432;
  unsigned threads = 0;  // 0: one event loop per core
  std::size_t maxMessageBytes = 64 * 1024;
  std::size_t maxOutputBytes = 1024 * 1024;
  std::chrono::milliseconds handshakeTimeout{10'000};  // 0: wait forever
  // How long a first read without a terminator waits for the rest of the name (a board
  // behind a serial bridge writes it in pieces). 0: decide on the first read.
  std::chrono::milliseconds nameWait{100};
  std::chrono::milliseconds idleTimeout{0};  // 0: never
  bool keepAlive = true;
  // Per-connection token buckets (0 = unlimited). The defaults are far above what a
  // person or the class's 50-bot stress test sends.
  double messageRate = 200;
  double messageBurst = 400;
  double shoutRate = 20;
  double shoutBurst = 40;
  // Messages dropped by the rate limits within 10 s before the client is disconnected.
  std::size_t floodDisconnect = 1000;   // 0: never
  std::size_t maxConnections = 0;       // 0: from the open-file limit (ChatServer)
  std::size_t maxConnectionsPerIp = 0;  // 0: unlimited
  std::chrono::milliseconds shutdownGrace{3'000};
  // SO_SNDBUF per connection (0: the kernel's autotuning); see net::TcpServerOptions.
  std::size_t sendBufferBytes = 256 * 1024;
  // Listen even if another server already listens on the port (SO_REUSEPORT: the kernel
  // then splits the connections between the servers). Off: such a start is refused.
  bool reusePort = false;
  // How long a closing connection (refused, flooding, idle, EOF) may take to read its last
  // output before it is closed anyway.
  std::chrono::milliseconds drainTimeout{3'000};
  // Frame bytes that may wait for one loop from the others (LocalHubOptions); 0: no bound.
  std::size_t maxLoopQueueBytes = 64 << 20;
  std::string logLevel = "info";
  // Trust (README, "Protected names and moderation").
  std::string accountsPath;  // --accounts: empty, no protected names
  std::string bansPath;      // --bans: empty, bans last until the server stops
  std::chrono::milliseconds loginTimeout{30'000};
  bool hashPassword = false;  // --hash-password: print a hash for the accounts file and exit
  // The HTTP port: /healthz and /metrics (PROTOCOL.md, "The HTTP port").
  bool http = true;
  std::string httpHost;  // empty: the same as host
  std::uint16_t httpPort = 8080;
  std::chrono::milliseconds httpRequestTimeout{10'000};
  // /ws (PROTOCOL.md, "WebSocket"): pages allowed to connect (empty: the server's own page)
  // and how often a silent WebSocket is pinged (0: never).
  std::vector<std::string> httpAllowedOrigins;
  std::chrono::milliseconds webSocketPingInterval{30'000};
  // TLS (README, "TLS"): on when both files are given.
  std::string tlsCert;
  std::string tlsKey;
  std::uint16_t tlsPort = 65433;
  bool plain = true;                   // --no-plain: the TLS port only
  std::size_t tlsMaxHandshakes = 256;  // per event loop
  std::chrono::milliseconds tlsHandshakeTimeout{10'000};
  bool tls() const { return !tlsCert.empty(); }
  // Cluster mode (README, "Running a cluster"): on when redisPort is not 0.
  std::string redisHost;
  std::uint16_t redisPort = 0;
  std::chrono::milliseconds nodeLease{5'000};
  std::string redisPrefix = "classchat:";
  // Shouts arriving within this of a loop's last delivery of shouts wait for the rest of it,
  // so that each listener is written once per window (ShoutCoalescer). --shout-batch-ms:
  // by default 0 (off) alone, where a loaded loop batches by itself, and 10 ms with --redis.
  std::chrono::microseconds shoutBatchWindow{0};
  bool cluster() const { return redisPort != 0; }
};

// "HOST:PORT" (an IPv6 address in brackets: "[::1]:6379") into its parts; false if it is
// not of that form or the port is not 1..65535. Pure.
bool parseHostPort(std::string_view text, std::string& host, std::uint16_t& port);

// Parses argv. On --help, prints it and returns nullopt with `exitCode` 0. On a usage
// error, or settings that cannot work together (see unworkableSetting), prints why and
// returns nullopt with `exitCode` 2.
std::optional<ServerOptions> parseOptions(int argc, char** argv, int& exitCode);

// Why these settings cannot work, or "" when they can: an output limit smaller than the
// largest frame one accepted message can become, or a name wait that the handshake
// timeout always cuts short. Pure; called by parseOptions.
std::string unworkableSetting(const ServerOptions& options);

// The largest value accepted for a duration in seconds: converted to nanoseconds and
// added to the steady clock, it stays far inside 64 bits (about 292 years).
inline constexpr double kMaxSeconds = 1e9;
// The largest rate or burst accepted (per second, or messages at once).
inline constexpr double kMaxRate = 1e9;

}  // namespace classchat::server
