#include "server/options.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "protocol/json_writer.h"

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

Signals: SIGINT or SIGTERM says goodbye to every client and exits 0; SIGHUP (sent when the
terminal that started the server closes) is logged as a reload and never stops it.
Exit status: 0 after a clean shutdown, 1 if the server cannot start (e.g. the port is in
use), 2 on a usage error or settings that cannot work together.
)footer";

// Positive durations below 1 ms round up to 1 ms: rounding down would turn a short limit
// into 0, which means "no limit". `seconds` is at most kMaxSeconds (kSeconds below).
std::chrono::milliseconds fromSeconds(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000)));
}

// A finite number in [min, max]. CLI11's own NonNegativeNumber and Range let NaN through
// (every comparison with it is false) and accept "inf", which the conversions to
// milliseconds and the rate arithmetic cannot take.
CLI::Validator finiteNumber(double min, double max, std::string description) {
  return CLI::Validator(
      [min, max](std::string& input) -> std::string {
        double value = 0;
        const char* end = input.data() + input.size();
        const auto [stop, ec] = std::from_chars(input.data(), end, value);
        if (ec != std::errc() || stop != end || !std::isfinite(value) || value < min ||
            value > max) {
          return fmt::format("Value {} is not a number from {:g} to {:g}", input, min, max);
        }
        return {};
      },
      std::move(description));
}

// Seconds that convert to milliseconds, and to a deadline on the steady clock, without
// overflowing.
const CLI::Validator kSeconds = finiteNumber(0, kMaxSeconds, "SECONDS (0 to 1e9)");
const CLI::Validator kRate = finiteNumber(0, kMaxRate, "RATE (0 to 1e9)");
const CLI::Validator kBurst = finiteNumber(1, kMaxRate, "COUNT (1 to 1e9)");

// CLI11 exits 0 after --help and with its own codes (105, 109...) on usage errors; the
// help text promises 2 for every usage error, as the client and the bench use.
int usageExit(const CLI::App& app, const CLI::Error& error) {
  return app.exit(error) == 0 ? 0 : 2;
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
  app.add_option("--send-buffer-bytes", options.sendBufferBytes,
                 "Kernel send buffer per client (SO_SNDBUF; 0 = the kernel's autotuning). With "
                 "--max-output-bytes it bounds the memory one client that stops reading can hold")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{64} << 20));
  app.add_option("--handshake-timeout", handshakeSeconds,
                 "Seconds a new connection may take to send its username (0 = no limit)")
      ->capture_default_str()
      ->check(kSeconds);
  std::uint32_t nameWaitMs = static_cast<std::uint32_t>(options.nameWait.count());
  app.add_option("--name-wait-ms", nameWaitMs,
                 "Milliseconds to wait for the rest of a username whose first piece has no "
                 "terminator (newline or JSON); 0 = decide on the first read (PROTOCOL.md 2)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 10'000u));
  app.add_option("--idle-timeout", idleSeconds,
                 "Seconds a client may send nothing before it is disconnected (0 = never)")
      ->capture_default_str()
      ->check(kSeconds);
  app.add_flag("--no-keepalive", noKeepAlive,
               "Do not enable TCP keepalive probes (on by default: first after 60 s idle)");
  app.add_option("--rate-limit", options.messageRate,
                 "Messages per second per connection, sustained (0 = unlimited)")
      ->capture_default_str()
      ->check(kRate);
  app.add_option("--rate-burst", options.messageBurst,
                 "Messages a connection may send at once before --rate-limit applies")
      ->capture_default_str()
      ->check(kBurst);
  app.add_option("--shout-rate", options.shoutRate,
                 "Shouts and /list requests per second per connection, sustained (0 = unlimited)")
      ->capture_default_str()
      ->check(kRate);
  app.add_option("--shout-burst", options.shoutBurst,
                 "Shouts and /list requests sent at once before --shout-rate applies")
      ->capture_default_str()
      ->check(kBurst);
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
      ->check(kSeconds);
  bool noHttp = false;
  double httpRequestSeconds = 10.0;
  app.add_option("--http-port", options.httpPort,
                 "HTTP port for the chat page, /ws, /healthz and /metrics (0 picks a free one and "
                 "logs it)")
      ->capture_default_str();
  app.add_option("--http-host", options.httpHost,
                 "Numeric address for the HTTP port (default: the same as --host)");
  app.add_flag("--no-http", noHttp, "Do not serve HTTP (the page, /ws, /healthz, /metrics)");
  app.add_option("--http-request-timeout", httpRequestSeconds,
                 "Seconds an HTTP client may take to send a whole request head, and may stay "
                 "idle between requests")
      ->capture_default_str()
      ->check(kSeconds & CLI::Range(0.01, 3600.0));
  std::string allowedOrigins;
  double wsPingSeconds = 30.0;
  app.add_option("--http-allowed-origins", allowedOrigins,
                 "Comma-separated origins of pages that may open /ws (e.g. "
                 "https://chat.example.org), or *; default: only the server's own page");
  app.add_option("--ws-ping-interval", wsPingSeconds,
                 "Seconds of silence after which a WebSocket is pinged; one more interval "
                 "without an answer closes it (0: never)")
      ->capture_default_str()
      ->check(kSeconds & CLI::Range(0.0, 3600.0));
  double loginSeconds = 30.0;
  app.add_option("--accounts", options.accountsPath,
                 "File of protected names, one 'NAME ROLE HASH' per line (ROLE user or admin; "
                 "HASH from --hash-password); reloaded on SIGHUP")
      ->check(CLI::ExistingFile);
  app.add_option("--bans", options.bansPath,
                 "File that keeps the teacher's bans across restarts (written atomically; "
                 "reloaded on SIGHUP)");
  app.add_option("--login-timeout", loginSeconds,
                 "Seconds a connection holding a protected name has to /login")
      ->capture_default_str()
      ->check(kSeconds & CLI::Range(0.1, 86400.0));
  app.add_flag("--hash-password", options.hashPassword,
               "Read a password from stdin, print its hash for the --accounts file, and exit");
  bool noPlain = false;
  app.add_option("--tls-cert", options.tlsCert,
                 "PEM certificate (chain) for the TLS port; with --tls-key, also listen with "
                 "TLS on --tls-port. Reloaded on SIGHUP")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", options.tlsKey, "PEM private key of --tls-cert")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-port", options.tlsPort, "TLS port (0 picks a free one and logs it)")
      ->capture_default_str();
  app.add_flag("--no-plain", noPlain, "Serve only the TLS port, not the plain --port");
  app.add_option("--tls-max-handshakes", options.tlsMaxHandshakes,
                 "TLS handshakes in progress per event loop beyond which new TLS connections "
                 "are closed at once")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  double tlsHandshakeSeconds = 10.0;
  app.add_option("--tls-handshake-timeout", tlsHandshakeSeconds,
                 "Seconds a TLS connection may take to finish its handshake before it is reset")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 3600.0));
  app.add_flag("--reuse-port", options.reusePort,
               "Start even if another server already listens on --port, and share it "
               "(SO_REUSEPORT: the kernel splits new connections between the servers)");
  app.add_option("--drain-timeout", drainSeconds,
                 "Seconds a closing connection (refused, flooding, idle, or at its end of "
                 "stream) may take to read its last output before it is closed anyway")
      ->capture_default_str()
      ->check(kSeconds);
  app.add_option("--max-loop-queue-bytes", options.maxLoopQueueBytes,
                 "Message bytes that may wait for one event loop from the others; past it, "
                 "messages to its users are dropped and the sender told (0 = no bound)")
      ->capture_default_str();
  std::string redis;
  app.add_option("--redis", redis,
                 "Join a cluster whose directory is the Redis at HOST:PORT (README, \"Running a "
                 "cluster\"); without it the server runs alone");
  double nodeLeaseSeconds = 5.0;
  app.add_option("--node-lease", nodeLeaseSeconds,
                 "With --redis: seconds this node's lease lasts without renewal; bounds how long "
                 "the names of a node that died stay taken")
      ->capture_default_str()
      ->check(finiteNumber(1, 3600, "SECONDS (1 to 3600)"));
  double shoutBatchMs = -1;
  app.add_option("--shout-batch-ms", shoutBatchMs,
                 "Hold shouts that follow the last ones within this many milliseconds until "
                 "then, so that each listener is written once per interval (default: 0, off, "
                 "alone; 10 with --redis)")
      ->check(finiteNumber(0, 1000, "MILLISECONDS (0 to 1000)"));
  app.add_option("--redis-prefix", options.redisPrefix,
                 "With --redis: the prefix of every key and channel (several chats may share "
                 "one Redis)")
      ->capture_default_str();
  app.add_option("--log-level", options.logLevel, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exitCode = usageExit(app, e);
    return std::nullopt;
  }
  if (options.tlsCert.empty() != options.tlsKey.empty()) {
    std::fputs("classchatd: --tls-cert and --tls-key go together\n", stderr);
    exitCode = 2;
    return std::nullopt;
  }
  if (noPlain && !options.tls()) {
    std::fputs("classchatd: --no-plain needs --tls-cert and --tls-key\n", stderr);
    exitCode = 2;
    return std::nullopt;
  }
  options.plain = !noPlain;
  // Every listener uses SO_REUSEPORT, so the two would share one port and the kernel
  // would hand half the TLS clients to the plain listener.
  if (options.tls() && options.plain && options.tlsPort != 0 && options.tlsPort == options.port) {
    std::fputs("classchatd: --tls-port must differ from --port\n", stderr);
    exitCode = 2;
    return std::nullopt;
  }
  if (!redis.empty() && !parseHostPort(redis, options.redisHost, options.redisPort)) {
    std::fputs("classchatd: --redis takes HOST:PORT (e.g. 127.0.0.1:6379)\n", stderr);
    exitCode = 2;
    return std::nullopt;
  }
  if (options.redisPrefix.find_first_of(" \n\r") != std::string::npos) {
    std::fputs("classchatd: --redis-prefix must not contain spaces or line breaks\n", stderr);
    exitCode = 2;
    return std::nullopt;
  }
  options.nodeLease = fromSeconds(nodeLeaseSeconds);
  options.shoutBatchWindow = shoutBatchMs >= 0
                                 ? std::chrono::microseconds(std::llround(shoutBatchMs * 1000))
                             : options.cluster() ? kClusterShoutBatchWindow
                                                 : std::chrono::microseconds(0);
  options.tlsHandshakeTimeout = fromSeconds(tlsHandshakeSeconds);
  if (options.threads == 0) options.threads = std::max(1u, std::thread::hardware_concurrency());
  if (options.threads > 255) options.threads = 255;  // the loop index lives in 8 bits
  options.handshakeTimeout = fromSeconds(handshakeSeconds);
  options.idleTimeout = fromSeconds(idleSeconds);
  options.shutdownGrace = fromSeconds(shutdownSeconds);
  options.drainTimeout = fromSeconds(drainSeconds);
  options.nameWait = std::chrono::milliseconds(nameWaitMs);
  if (const std::string problem = unworkableSetting(options); !problem.empty()) {
    exitCode = usageExit(app, CLI::ValidationError(problem));
    return std::nullopt;
  }
  options.keepAlive = !noKeepAlive;
  options.loginTimeout = fromSeconds(loginSeconds);
  options.http = !noHttp;
  if (options.httpHost.empty()) options.httpHost = options.host;
  options.httpRequestTimeout = fromSeconds(httpRequestSeconds);
  for (std::size_t start = 0; start < allowedOrigins.size();) {
    const std::size_t comma = std::min(allowedOrigins.find(',', start), allowedOrigins.size());
    std::string origin = allowedOrigins.substr(start, comma - start);
    std::erase(origin, ' ');
    while (!origin.empty() && origin.back() == '/') origin.pop_back();
    if (!origin.empty()) options.httpAllowedOrigins.push_back(std::move(origin));
    start = comma + 1;
  }
  options.webSocketPingInterval = fromSeconds(wsPingSeconds);
  return options;
}

bool parseHostPort(std::string_view text, std::string& host, std::uint16_t& port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view hostPart = text.substr(0, colon);
  const std::string_view portPart = text.substr(colon + 1);
  if (hostPart.front() == '[') {
    if (hostPart.size() < 3 || hostPart.back() != ']') return false;
    hostPart = hostPart.substr(1, hostPart.size() - 2);
  } else if (hostPart.find(':') != std::string_view::npos) {
    return false;  // an IPv6 address needs brackets
  }
  unsigned value = 0;
  const auto [stop, ec] =
      std::from_chars(portPart.data(), portPart.data() + portPart.size(), value);
  if (ec != std::errc() || stop != portPart.data() + portPart.size() || value == 0 ||
      value > 65535) {
    return false;
  }
  host = std::string(hostPart);
  port = static_cast<std::uint16_t>(value);
  return true;
}

std::string unworkableSetting(const ServerOptions& options) {
  const std::size_t largestFrame = protocol::maxRelayedFrameBytes(options.maxMessageBytes);
  if (options.maxOutputBytes < largestFrame) {
    return fmt::format(
        "--max-output-bytes {} is smaller than the largest frame one --max-message-bytes {} "
        "message can become ({} bytes with its envelope): its recipient would be dropped as "
        "a slow consumer. Raise --max-output-bytes to at least {} or lower --max-message-bytes.",
        options.maxOutputBytes, options.maxMessageBytes, largestFrame, largestFrame);
  }
  if (options.handshakeTimeout.count() > 0 && options.nameWait >= options.handshakeTimeout) {
    return fmt::format(
        "--name-wait-ms {} is not shorter than --handshake-timeout ({} ms): a username sent "
        "without a terminator would always time out. Lower --name-wait-ms.",
        options.nameWait.count(), options.handshakeTimeout.count());
  }
  return {};
}

}  // namespace classchat::server
