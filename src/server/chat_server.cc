#include "server/chat_server.h"

#include <stdexcept>

#include <spdlog/spdlog.h>

namespace classchat::server {

ChatServer::ChatServer(ServerOptions options)
    : options_(std::move(options)),
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

void ChatServer::reload() {
  // Nothing is reloadable yet; main() has logged the signal.
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
