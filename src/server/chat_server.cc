#include "server/chat_server.h"

#include <sys/resource.h>

#include <stdexcept>

#include <fmt/format.h>

#include <spdlog/spdlog.h>

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
      limiter_(options_.maxConnections, options_.maxConnectionsPerIp) {}

ChatServer::~ChatServer() {
  shutdown();
}

void ChatServer::start() {
  auto address = net::InetAddress::parse(options_.host, options_.port);
  if (!address) throw std::runtime_error("--host must be a numeric IPv4 or IPv6 address");
  for (std::uint32_t i = 0; i < options_.threads; ++i) {
    Unit unit;
    unit.loop = std::make_unique<net::EventLoop>();
    unit.chat = std::make_unique<ChatLoop>(*unit.loop, i, *address, registry_, limiter_, options_);
    if (i == 0) {
      // With --port 0 the kernel picks a port; the other loops listen on the same one.
      address = net::InetAddress::parse(options_.host, unit.chat->tcp().localAddress().port());
    }
    units_.push_back(std::move(unit));
  }
  std::vector<LocalHub*> hubs;
  for (Unit& unit : units_) hubs.push_back(&unit.chat->hub());
  for (Unit& unit : units_) unit.chat->hub().connectPeers(hubs);
  for (Unit& unit : units_) {
    unit.chat->start();
    unit.thread = std::thread([loop = unit.loop.get()] { loop->run(); });
  }
}

std::uint16_t ChatServer::port() const {
  return units_.empty() ? 0 : units_.front().chat->tcp().localAddress().port();
}

void ChatServer::shutdown() {
  for (Unit& unit : units_) {
    if (!unit.thread.joinable()) continue;
    ChatLoop* chat = unit.chat.get();
    unit.loop->post([chat] { chat->beginShutdown(); });
  }
  for (Unit& unit : units_) {
    if (unit.thread.joinable()) unit.thread.join();
  }
  // Loops are destroyed only after every thread has stopped, since posted tasks may
  // refer to other loops' hubs.
  units_.clear();
}

}  // namespace classchat::server
