#include "server/options.h"

#include <thread>

#include <CLI/CLI.hpp>

namespace classchat::server {

std::optional<ServerOptions> parseOptions(int argc, char** argv, int& exitCode) {
  ServerOptions options;
  double handshakeSeconds = 10.0;
  double shutdownSeconds = 3.0;
  CLI::App app{
      "classchatd: the classchat server. Clients connect over TCP, send their username, then "
      "JSON messages {\"to\": <user or /command>, \"msg\": <text>}. See PROTOCOL.md."};
  app.add_option("--host", options.host, "Numeric address to listen on (IPv4 or IPv6; :: is dual-stack)")
      ->capture_default_str();
  app.add_option("--port", options.port, "TCP port (0 picks a free one and logs it)")
      ->capture_default_str();
  app.add_option("--threads", options.threads, "Event loops (0 = one per core)")
      ->capture_default_str();
  app.add_option("--max-message-bytes", options.maxMessageBytes,
                 "Largest JSON object accepted from a client; bigger ones get an error and are skipped")
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
  app.add_option("--shutdown-grace", shutdownSeconds,
                 "Seconds to flush goodbyes on SIGINT/SIGTERM before exiting")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
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
  options.handshakeTimeout =
      std::chrono::milliseconds(static_cast<std::int64_t>(handshakeSeconds * 1000));
  options.shutdownGrace =
      std::chrono::milliseconds(static_cast<std::int64_t>(shutdownSeconds * 1000));
  return options;
}

}  // namespace classchat::server
