// A server's numeric address, IPv4 or IPv6, with its port.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace classchat::bench {

struct ServerAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  // 127.0.0.0/8, ::1 or an IPv4-mapped 127.x address.
  bool isLoopback() const;
};

// Parses a numeric IPv4 or IPv6 host. Returns false if `host` is neither. Thread-safe.
bool parseServerAddress(const std::string& host, std::uint16_t port, ServerAddress& out);

}  // namespace classchat::bench
