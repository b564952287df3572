// classchatd's command-line options.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace classchat::server {

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 65432;
  unsigned threads = 0;  // 0: one event loop per core
  std::size_t maxMessageBytes = 64 * 1024;
  std::size_t maxOutputBytes = 1024 * 1024;
  std::chrono::milliseconds handshakeTimeout{10'000};  // 0: wait forever
  std::chrono::milliseconds idleTimeout{0};            // 0: never
  bool keepAlive = true;
  // Per-connection token buckets (0 = unlimited). The defaults are far above what a
  // person or the class's 50-bot stress test sends.
  double messageRate = 200;
  double messageBurst = 400;
  double shoutRate = 20;
  double shoutBurst = 40;
  // Messages dropped by the rate limits within 10 s before the client is disconnected.
  std::size_t floodDisconnect = 1000;   // 0: never
  std::size_t maxConnections = 0;       // 0: unlimited
  std::size_t maxConnectionsPerIp = 0;  // 0: unlimited
  std::chrono::milliseconds shutdownGrace{3'000};
  // SO_SNDBUF per connection (0: the kernel's autotuning); see net::TcpServerOptions.
  std::size_t sendBufferBytes = 256 * 1024;
  // Listen even if another server already listens on the port (SO_REUSEPORT: the kernel
  // then splits the connections between the servers). Off: such a start is refused.
  bool reusePort = false;
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
  // TLS (README, "TLS"): on when both files are given.
  std::string tlsCert;
  std::string tlsKey;
  std::uint16_t tlsPort = 65433;
  bool plain = true;                   // --no-plain: the TLS port only
  std::size_t tlsMaxHandshakes = 256;  // per event loop
  std::chrono::milliseconds tlsHandshakeTimeout{10'000};
  bool tls() const { return !tlsCert.empty(); }
};

// Parses argv. On --help or a bad flag, prints the message and returns the exit code in
// `exitCode` with nullopt.
std::optional<ServerOptions> parseOptions(int argc, char** argv, int& exitCode);

}  // namespace classchat::server
