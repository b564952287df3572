// Constants of the classchat wire contract (see PROTOCOL.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace classchat::protocol {

inline constexpr std::uint16_t kDefaultPort = 65432;

// The identity the server speaks as.
inline constexpr std::string_view kServerName = "SERVER";
inline constexpr std::string_view kServerIp = "0.0.0.0";

// The longest address text a frame's from.ip can hold: an IPv6 address written by
// inet_ntop (INET6_ADDRSTRLEN less its NUL), e.g. ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255.
inline constexpr std::size_t kMaxIpTextBytes = 45;

// The `to` value of a shout as received by its recipients.
inline constexpr std::string_view kEveryone = "Everyone";

// Replies that class clients read with recv(1024) must fit in this many bytes,
// newline included.
inline constexpr std::size_t kSmallReplyBytes = 1024;

inline constexpr std::size_t kDefaultMaxMessageBytes = 64 * 1024;

}  // namespace classchat::protocol
