// Options and helpers shared by every mode of classchat-bench.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/address.h"
#include "bench/targets.h"

namespace CLI {
class App;
}

namespace classchat::bench {

struct EngineOptions;

struct CommonOptions {
  // --host and --port: one value each, or comma-separated lists of several targets (the
  // nodes of a cluster) that the clients are spread over round-robin (targets.h).
  std::string host = "127.0.0.1";
  std::string port = "65432";
  bool allowRemote = false;
  std::string jsonPath;  // empty: no JSON file
  std::string plotPath;  // empty: no chart
  std::uint64_t seed = 1;
  bool quiet = false;                  // no progress lines
  std::string protocol = "classchat";  // the server's protocol (driver_factory.h)
  bool force = false;                  // shout even if other people are online (occupancy_check.h)
  bool tls = false;                    // --tls: connect with TLS, certificate not verified
  std::string transport = "tcp";       // "tcp", or "ws": classchat over WebSocket on --port
};

struct TransportOptions;

// Adds --host --port --allow-remote --json --plot --seed --quiet to a mode.
void addCommonOptions(CLI::App& app, CommonOptions& options, bool withPlot);

// Adds --protocol: which Driver speaks to the server (modes that support other servers).
void addProtocolOption(CLI::App& app, CommonOptions& options);

// Adds --transport tcp|ws to a mode that runs on the Engine (stress, throughput, ramp).
void addTransportOption(CLI::App& app, CommonOptions& options);

// The TransportOptions of --transport, --host and --port; `seed` makes the WebSocket
// key and masks. With several targets the WebSocket Host header names the first one
// (classchatd only compares it with an Origin header, which the bench does not send).
TransportOptions transportOf(const CommonOptions& options, std::uint64_t seed);

// Adds --force to a mode that sends shouts; `what` says what it sends to everyone.
void addForceOption(CLI::App& app, CommonOptions& options, const std::string& what);

// --tls: the engine's TLS context (not verifying: a load tool measures, it does not
// trust). Returns an error sentence, or empty on success.
std::string configureTls(const CommonOptions& options, EngineOptions& engine);

// Resolves --host and --port to one or more targets (targets.h); refuses non-loopback
// targets unless --allow-remote, and a --protocol this build has no driver for. Returns
// an error sentence, or empty on success. --transport ws is refused with any protocol
// but classchat.
std::string resolveTargets(const CommonOptions& options, std::vector<Target>& targets);

// The addresses of resolved targets, in order (EngineOptions::servers).
std::vector<ServerAddress> addressesOf(const std::vector<Target>& targets);

// "host:port" of every target of --host and --port (for reports); the raw options if
// they do not parse.
std::string targetsText(const CommonOptions& options);

class JsonOut;
// Writes "host" and "port" (the first target, as before lists existed) and "targets"
// (every "host:port") into the JSON object being written.
void writeTargetsJson(JsonOut& json, const CommonOptions& options);

// Progress lines go to stderr so that stdout holds only the summary.
template <typename... Args>
void progress(const CommonOptions& options, fmt::format_string<Args...> format, Args&&... args) {
  if (options.quiet) return;
  fmt::print(stderr, "[bench] {}\n", fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace classchat::bench
