// Chooses the Driver for the protocol of the server under test (--protocol).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "bench/driver.h"

namespace classchat::bench {

enum class Protocol : std::uint8_t {
  kClassChat,  // classchatd's JSON contract (PROTOCOL.md)
  kIrc,        // ngIRCd, InspIRCd: PRIVMSG nick, PRIVMSG #all, PING
  kNats,       // nats-server: PUB u.<name>, PUB all
  kRelay,      // classchat-relay, the benchmark's minimal relay
};

// The names --protocol accepts, for help texts.
inline constexpr std::string_view kProtocolNames = "classchat, irc, nats or relay";

// "classchat", "irc", "nats" or "relay"; nullopt for anything else.
std::optional<Protocol> parseProtocol(std::string_view name);

// A new driver for one engine (drivers are not thread-safe). Never null for a protocol
// parseProtocol returns over TCP; null for WebSocket (transport.webSocketHost) with any
// protocol but classchat.
std::unique_ptr<Driver> makeDriver(Protocol protocol, const DriverOptions& options,
                                   const TransportOptions& transport = {});

}  // namespace classchat::bench
