// The class scenario's first check: a second login with a taken name must be refused.
#pragma once

#include <cstdint>
#include <string>

#include "bench/address.h"
#include "bench/clock.h"
#include "bench/driver.h"

namespace classchat::bench {

// The outcome of the duplicate-name check for one spelling.
struct DuplicateCheck {
  std::string name;
  bool passed = false;
  std::string detail;  // what the server answered, or what went wrong
};

// Connects with a blocking socket, sends `name` (already registered by another client),
// and expects exactly one Error frame followed by the server closing the connection,
// within `timeout`, over TCP or WebSocket (`transport`). Thread-safe (uses only its own socket).
DuplicateCheck checkDuplicateName(const ServerAddress& server, const std::string& name,
                                  TimeNs timeout, const TransportOptions& transport = {});

}  // namespace classchat::bench
