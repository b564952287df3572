#include "server/options.h"

#include <thread>

#include <CLI/CLI.hpp>

namespace classchat::server {
namespace {

constexpr const char* kLimitsFooter = R"footer(
Limits and what clients see when they hit them (see PROTOCOL.md, section 8):
  --handshake-timeout   "Error: no username received within <ms> ms", then close
  --idle-timeout        "Error: idle for more than <s> s; disconnecting", then close
  --max-message-bytes   "Error: message larger than <n> bytes skipped"; the connection stays
  --max-output-bytes    a client that stops reading is disconnected; the log says "slow consumer"
  --rate-limit/--rate-burst
                        "Error: rate limit: at most <n> messages per second; message dropped"
                        (at most one such reply per second)
  --shout-rate/--shout-burst
                        "Error: rate limit: at most <n> shouts per second; shout dropped"
  --flood-disconnect    more drops than this within 10 s: "Error: disconnected for flooding", close
  --max-connections     "Error: the server is full (<n> connections); try again later", close
  --max-connections-per-ip
                        "Error: too many connections from your address (limit <n>)", close
  open-file limit       "Error: the server has no free connection slots; try again later", close
)footer";

std::chrono::milliseconds fromSeconds(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

}  // namespace

std::optional<ServerOptions> parseOptions(int argc, char** argv, int& exitCode) {
  ServerOptions options;
  double handshakeSeconds = 10.0;
  double idleSeconds = 0.0;
  double shutdownSeconds = 3.0;
  double drainSeconds = 3.0;
  bool noKeepAlive = false;
  CLI::App app{
      "classchatd: the classchat server. Clients connect over TCP, send their username, then "
      "JSON messages {\"to\": <user or /command>, \"msg\": <text>}. See PROTOCOL.md."};
  app.footer(kLimitsFooter);
  app.add_option("--host", options.host,
                 "Numeric address to listen on (IPv4 or IPv6; :: is dual-stack)")
      ->capture_default_str();
  app.add_option("--port", options.port, "TCP port (0 picks a free one and logs it)")
      ->capture_default_str();
  app.add_option("--threads", options.threads, "Event loops (0 = one per core)")
      ->capture_default_str();
  app.add_option("--max-message-bytes", options.maxMessageBytes,
                 "Largest JSON object accepted from a client; bigger ones get an error and are "
                 "skipped")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{256}, std::size_t{64} << 20));
  app.add_option("--max-output-bytes", options.maxOutputBytes,
                 "Output queued for one client before it is dropped as a slow consumer")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{4096}, std::size_t{1} << 30));
  app.add_option("--handshake-timeout", handshakeSeconds,
                 "Seconds a new connection may take to send its username (0 = no limit)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--idle-timeout", idleSeconds,
                 "Seconds a client may send nothing before it is disconnected (0 = never)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--no-keepalive", noKeepAlive,
               "Do not enable TCP keepalive probes (on by default: first after 60 s idle)");
  app.add_option("--rate-limit", options.messageRate,
                 "Messages per second per connection, sustained (0 = unlimited)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--rate-burst", options.messageBurst,
                 "Messages a connection may send at once before --rate-limit applies")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--shout-rate", options.shoutRate,
                 "Shouts and /list requests per second per connection, sustained (0 = unlimited)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--shout-burst", options.shoutBurst,
                 "Shouts and /list requests sent at once before --shout-rate applies")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--flood-disconnect", options.floodDisconnect,
                 "Disconnect a client once this many of its messages were dropped by the rate "
                 "limits within 10 s (0 = never)")
      ->capture_default_str();
  app.add_option("--max-connections", options.maxConnections,
                 "Open connections allowed in total (0 = the open-file limit less what the "
                 "server keeps for itself; more than that is lowered to it)")
      ->capture_default_str();
  app.add_option("--max-connections-per-ip", options.maxConnectionsPerIp,
                 "Open connections allowed from one address (0 = unlimited)")
      ->capture_default_str();
  app.add_option("--shutdown-grace", shutdownSeconds,
                 "Seconds to flush goodbyes on SIGINT/SIGTERM before exiting")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--drain-timeout", drainSeconds,
                 "Seconds a closing connection (refused, flooding, idle, or at its end of "
                 "stream) may take to read its last output before it is closed anyway")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-loop-queue-bytes", options.maxLoopQueueBytes,
                 "Message bytes that may wait for one event loop from the others; past it, "
                 "messages to its users are dropped and the sender told (0 = no bound)")
      ->capture_default_str();
  app.add_option("--log-level", options.logLevel, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exitCode = app.exit(e);
    return std::nullopt;
  }
  if (options.threads == 0) options.threads = std::max(1u, std::thread::hardware_concurrency());
  if (options.threads > 255) options.threads = 255;  // the loop index lives in 8 bits
  options.handshakeTimeout = fromSeconds(handshakeSeconds);
  options.idleTimeout = fromSeconds(idleSeconds);
  options.shutdownGrace = fromSeconds(shutdownSeconds);
  options.drainTimeout = fromSeconds(drainSeconds);
  options.keepAlive = !noKeepAlive;
  return options;
}

}  // namespace classchat::server
