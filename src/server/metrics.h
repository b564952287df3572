// What classchatd counts, per event loop, for /metrics.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace classchat::server {

// A value written by one thread (its loop's) and read by any thread (the scrape). The
// relaxed load and store compile to plain moves, with no locked instruction, so counting
// costs the message path next to nothing; a reader sees each value whole, possibly a moment
// old. Never write one from two threads.
class LoopCounter {
 public:
  void add(std::uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void subtract(std::uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Why a connection was refused before it could chat (label `reason` of
// classchat_refusals_total). Keep kRefusalNames in step.
enum class RefusalReason : std::uint8_t {
  kServerFull,
  kAddressFull,
  kInvalidName,
  kNameTaken,
  kHandshakeTimeout,
  kHandshakeTooLarge,
  kBanned,
  kLoginTimeout,
  kDirectoryUnavailable,  // the claim could not reach the directory (a cluster's Redis)
  kCount,
};
inline constexpr std::array<std::string_view, static_cast<std::size_t>(RefusalReason::kCount)>
    kRefusalNames{"server_full", "address_full",      "invalid_name",
                  "name_taken",  "handshake_timeout", "handshake_too_large",
                  "banned",      "login_timeout",     "directory_unavailable"};

// Why a connection ended (label `reason` of classchat_disconnects_total).
enum class DisconnectReason : std::uint8_t {
  kClient,        // the peer closed or reset it
  kSlowConsumer,  // its output queue passed --max-output-bytes
  kFlood,         // --flood-disconnect
  kIdle,          // --idle-timeout
  kRefused,       // refused during the handshake (see classchat_refusals_total)
  kShutdown,      // the server is stopping
  kError,         // a socket error on the server's side
  kKicked,        // /kick, /ban or a removed account
  kCount,
};
inline constexpr std::array<std::string_view, static_cast<std::size_t>(DisconnectReason::kCount)>
    kDisconnectNames{"client",  "slow_consumer", "flood", "idle",
                     "refused", "shutdown",      "error", "kicked"};

// The counters of one loop. Owned by its ChatLoop; written only on that loop's thread.
struct LoopMetrics {
  LoopCounter tcpConnections;        // gauge: open chat connections over plain TCP
  LoopCounter webSocketConnections;  // gauge: open chat connections over WebSocket
  LoopCounter registeredUsers;       // gauge: sessions past the handshake
  LoopCounter directMessages;
  LoopCounter shouts;
  LoopCounter commands;    // every other /command, /shout excluded
  LoopCounter deliveries;  // frames handed to a recipient's connection (DMs and shouts)
  LoopCounter shoutsHeld;  // shouts that waited for --shout-batch-ms (ShoutCoalescer)
  LoopCounter bytesReceived;
  LoopCounter rateLimited;  // messages dropped by --rate-limit or --shout-rate
  std::array<LoopCounter, static_cast<std::size_t>(RefusalReason::kCount)> refusals;
  std::array<LoopCounter, static_cast<std::size_t>(DisconnectReason::kCount)> disconnects;

  void refused(RefusalReason reason) { refusals[static_cast<std::size_t>(reason)].add(); }
  void disconnected(DisconnectReason reason) {
    disconnects[static_cast<std::size_t>(reason)].add();
  }
};

// Cluster mode's figures (--redis), summed over the node's loops where per loop.
struct ClusterFigures {
  std::uint64_t epoch = 0;  // the lease epoch claims are made under; 0 while fenced
  std::uint64_t fenced = 0;
  std::uint64_t reasserted = 0;
  std::uint64_t takenWhileFenced = 0;
  std::uint64_t swept = 0;
  std::uint64_t janitorFreed = 0;
  std::uint64_t subscriptionCuts = 0;
  std::uint64_t remoteDirectIn = 0;
  std::uint64_t remoteDirectOut = 0;
  std::uint64_t remoteShoutsIn = 0;
  std::uint64_t routeCalls = 0;
  std::uint64_t shedToRedis = 0;
};

// Figures that are not per-loop counters, read when /metrics is scraped.
struct ServerFigures {
  std::vector<std::uint64_t> bytesSentByLoop;  // from each loop's TcpServer
  std::vector<std::size_t> postedTasksByLoop;  // each loop's cross-loop queue depth
  std::vector<std::size_t> postedBytesByLoop;  // ... and the frame bytes in it
  std::uint64_t shedFrames = 0;                // dropped: the queue towards another loop was full
  std::uint64_t shedBytes = 0;
  double uptimeSeconds = 0;
  bool shuttingDown = false;
  std::optional<ClusterFigures> cluster;  // set with --redis
};

// The Prometheus text exposition format (version 0.0.4) of every loop's counters, summed.
// Thread-safe: only reads the counters.
std::string renderPrometheus(const std::vector<const LoopMetrics*>& loops,
                             const ServerFigures& figures);

}  // namespace classchat::server
