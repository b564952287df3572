// Where a run's clients connect: one server, or several (the nodes of a cluster), from
// --host and --port lists.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/address.h"

namespace classchat::bench {

struct Target {
  std::string host;  // numeric IPv4 or IPv6, as given
  std::uint16_t port = 0;
  ServerAddress address;
  // "127.0.0.1:7001", "[::1]:7001".
  std::string toString() const;
};

// Splits a comma-separated list into its items; false if any item is empty ("a,,b",
// "a,", ""). Pure.
bool splitList(std::string_view text, std::vector<std::string>& items);

// Combines --host and --port into targets. Each is one value or a comma-separated list:
// when both have several entries they are paired in order (and must have as many); when
// one has a single entry it is used with every entry of the other. So "--host 127.0.0.1
// --port 7001,7002" is two targets, "--host 127.0.0.1,::1 --port 7001" too, and
// "--host a,b --port 1,2" is a:1 and b:2. Hosts are numeric IPv4 or IPv6 addresses, ports
// 0..65535. Returns an error sentence naming the bad value, or empty on success. Pure.
std::string parseTargets(std::string_view hosts, std::string_view ports,
                         std::vector<Target>& targets);

// The target of the client with this ordinal (its position in the run's order of
// clients): round-robin, so consecutive clients (a direct-message pair, a sender and
// the next recipient) land on different targets whenever there are several. Pure.
inline std::size_t targetOf(std::uint64_t ordinal, std::size_t targets) {
  return targets == 0 ? 0 : static_cast<std::size_t>(ordinal % targets);
}

// "127.0.0.1:7001" for one target, "127.0.0.1:7001, 127.0.0.1:7002" for several.
std::string describeTargets(const std::vector<Target>& targets);

}  // namespace classchat::bench
