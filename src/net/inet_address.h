// Socket addresses: parsing "host" + port, and printing peers.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace classchat::net {

// An IPv4 or IPv6 socket address. Value type; thread-safe to copy.
class InetAddress {
 public:
  InetAddress() = default;
  explicit InetAddress(const sockaddr_storage& storage) : storage_(storage) {}

  // Parses a numeric IPv4 or IPv6 host ("0.0.0.0", "::1"); nullopt if it is neither.
  static std::optional<InetAddress> parse(std::string_view host, std::uint16_t port);

  int family() const { return storage_.ss_family; }
  std::uint16_t port() const;
  // The host as text. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) print as a dotted quad.
  std::string ip() const;
  // "ip:port", or "[ip]:port" for IPv6.
  std::string toString() const;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t length() const;

 private:
  sockaddr_storage storage_{};
};

}  // namespace classchat::net
