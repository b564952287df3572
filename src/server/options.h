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
  std::size_t maxConnections = 0;       // 0: from the open-file limit (ChatServer)
  std::size_t maxConnectionsPerIp = 0;  // 0: unlimited
  std::chrono::milliseconds shutdownGrace{3'000};
  // How long a closing connection (refused, flooding, idle, EOF) may take to read its last
  // output before it is closed anyway.
  std::chrono::milliseconds drainTimeout{3'000};
  // Frame bytes that may wait for one loop from the others (LocalHubOptions); 0: no bound.
  std::size_t maxLoopQueueBytes = 64 << 20;
  std::string logLevel = "info";
};

// Parses argv. On --help or a bad flag, prints the message and returns the exit code in
// `exitCode` with nullopt.
std::optional<ServerOptions> parseOptions(int argc, char** argv, int& exitCode);

}  // namespace classchat::server
