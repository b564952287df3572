#include "bench/common.h"

#include <CLI/CLI.hpp>

#include "bench/driver_factory.h"
#include "bench/engine.h"
#include "bench/json_out.h"

namespace classchat::bench {

void addCommonOptions(CLI::App& app, CommonOptions& options, bool withPlot) {
  app.add_option("--host", options.host,
                 "Server IPv4 or IPv6 address (loopback only unless --allow-remote), or a "
                 "comma-separated list of several (the nodes of a cluster)")
      ->capture_default_str();
  app.add_option("--port", options.port,
                 "Server TCP port, or a comma-separated list. With several hosts or ports "
                 "the clients are spread round-robin over the targets: two lists are paired "
                 "in order (as many entries each), a single value goes with every entry of "
                 "the other list")
      ->capture_default_str();
  app.add_flag("--allow-remote", options.allowRemote,
               "Allow a target outside 127.0.0.0/8 (load tests are for machines you own)");
  app.add_option("--json", options.jsonPath, "Write every figure of the run to this JSON file");
  if (withPlot) app.add_option("--plot", options.plotPath, "Write an SVG chart to this file");
  app.add_option("--seed", options.seed, "Seed of the random choices (runs are repeatable)")
      ->capture_default_str();
  app.add_flag("-q,--quiet", options.quiet, "No progress lines on stderr");
  app.add_flag("--tls", options.tls,
               "Connect with TLS (classchatd's --tls-port); the certificate is not verified. "
               "The check of who is online speaks plain TCP, so modes that shout need --force");
}

std::string configureTls(const CommonOptions& options, EngineOptions& engine) {
  if (!options.tls) return {};
  if (options.protocol != "classchat") return "--tls works with --protocol classchat only";
  std::string error;
  engine.tls = transport::TlsContext::client("", false, error);
  return engine.tls ? std::string() : error;
}

void addProtocolOption(CLI::App& app, CommonOptions& options) {
  app.add_option("--protocol", options.protocol,
                 "The server's protocol: classchat (classchatd), irc (ngIRCd, InspIRCd), nats "
                 "(nats-server) or relay (classchat-relay, the minimal relay)")
      ->check(CLI::IsMember({"classchat", "irc", "nats", "relay"}))
      ->capture_default_str();
}

void addTransportOption(CLI::App& app, CommonOptions& options) {
  app.add_option("--transport", options.transport,
                 "tcp, or ws: classchat over WebSocket (GET /ws on classchatd's --http-port, "
                 "which --port then names); ws only with --protocol classchat, and shouts "
                 "over ws need --force (the check of who is online speaks TCP only)")
      ->check(CLI::IsMember({"tcp", "ws"}))
      ->capture_default_str();
}

TransportOptions transportOf(const CommonOptions& options, std::uint64_t seed) {
  TransportOptions transport;
  if (options.transport != "ws") return transport;
  std::vector<Target> targets;
  if (parseTargets(options.host, options.port, targets).empty()) {
    transport.webSocketHost = targets.front().toString();
  } else {
    transport.webSocketHost = fmt::format("{}:{}", options.host, options.port);
  }
  transport.seed = seed;
  return transport;
}

void addForceOption(CLI::App& app, CommonOptions& options, const std::string& what) {
  app.add_flag(
      "--force", options.force,
      fmt::format("Run even if other people are online. Without it, the bench first logs in as "
                  "<prefix>check and sends /list; if anyone else is online (or the answer cannot "
                  "be read), it refuses with exit status 3, because {} every person online",
                  what));
}

std::string resolveTargets(const CommonOptions& options, std::vector<Target>& targets) {
  if (std::string error = parseTargets(options.host, options.port, targets); !error.empty()) {
    return error;
  }
  for (const Target& target : targets) {
    if (!target.address.isLoopback() && !options.allowRemote) {
      return fmt::format("--host {} is not a loopback address; add --allow-remote to load it",
                         target.host);
    }
  }
  const std::optional<Protocol> protocol = parseProtocol(options.protocol);
  if (!protocol || !makeDriver(*protocol, {})) {
    return fmt::format("--protocol {} is not supported by this build", options.protocol);
  }
  if (options.transport != "tcp" && options.transport != "ws") {
    return fmt::format("--transport {}: tcp or ws", options.transport);
  }
  if (options.transport == "ws" && *protocol != Protocol::kClassChat) {
    return fmt::format("--transport ws is classchat over WebSocket; --protocol {} has none",
                       options.protocol);
  }
  return {};
}

std::vector<ServerAddress> addressesOf(const std::vector<Target>& targets) {
  std::vector<ServerAddress> addresses;
  for (const Target& target : targets) addresses.push_back(target.address);
  return addresses;
}

std::string targetsText(const CommonOptions& options) {
  std::vector<Target> targets;
  if (!parseTargets(options.host, options.port, targets).empty()) {
    return fmt::format("{}:{}", options.host, options.port);
  }
  return describeTargets(targets);
}

void writeTargetsJson(JsonOut& json, const CommonOptions& options) {
  std::vector<Target> targets;
  parseTargets(options.host, options.port, targets);
  if (targets.empty()) {
    json.field("host", options.host).field("port", options.port);
  } else {
    json.field("host", targets.front().host).field("port", static_cast<int>(targets.front().port));
  }
  json.key("targets").beginArray();
  for (const Target& target : targets) json.value(target.toString());
  json.endArray();
}

}  // namespace classchat::bench
