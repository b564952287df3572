#include "bench/driver_factory.h"

#include "bench/classchat_driver.h"
#include "bench/irc_driver.h"
#include "bench/nats_driver.h"
#include "bench/relay_driver.h"
#include "bench/websocket_driver.h"

namespace classchat::bench {

std::optional<Protocol> parseProtocol(std::string_view name) {
  if (name == "classchat") return Protocol::kClassChat;
  if (name == "irc") return Protocol::kIrc;
  if (name == "nats") return Protocol::kNats;
  if (name == "relay") return Protocol::kRelay;
  return std::nullopt;
}

std::unique_ptr<Driver> makeDriver(Protocol protocol, const DriverOptions& options,
                                   const TransportOptions& transport) {
  if (!transport.webSocketHost.empty()) {
    // WebSocket is classchatd's own transport: no other protocol has it here.
    if (protocol != Protocol::kClassChat) return nullptr;
    return std::make_unique<WebSocketDriver>(transport.webSocketHost, transport.seed);
  }
  switch (protocol) {
    case Protocol::kClassChat:
      return std::make_unique<ClassChatDriver>();
    case Protocol::kIrc:
      return std::make_unique<IrcDriver>(options);
    case Protocol::kNats:
      return std::make_unique<NatsDriver>(options);
    case Protocol::kRelay:
      return std::make_unique<RelayDriver>(options);
  }
  return nullptr;
}

}  // namespace classchat::bench
