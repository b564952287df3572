// The wire format of classchat-relay, the minimal relay of issue #6: fixed-size frame
// headers, binary bodies, no JSON and no text parsing. Shared by the relay and the bench's
// RelayDriver.
//
// Every frame is an 8-byte header followed by the body:
//   bytes 0-3  body length, unsigned 32-bit little-endian, at most kMaxBody
//   byte  4    type (FrameType)
//   bytes 5-7  reserved, sent as zero and ignored
//
// Client to relay:
//   kLogin   name (1 to 255 bytes)         answered with kWelcome (empty), or kError if the
//                                          name is taken (the client may try another)
//   kDirect  u8 n, recipient[n], text      the recipient gets kDeliver; an unknown
//                                          recipient gets the sender a kError
//   kShout   text                          every other logged-in client gets kBroadcast
//   kPing    any bytes                     answered with kPong carrying the same bytes
// Relay to client:
//   kWelcome (empty), kDeliver and kBroadcast (u8 n, sender[n], text), kPong, kError (text)
//
// A name is the only state the relay keeps per user, the minimum needed to address one.
// Anything else (a header over kMaxBody, an unknown type, a message before kLogin, a
// second kLogin, a kDirect whose name runs past the body) is a protocol violation: the
// relay closes the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace classchat::bench::relay {

enum class FrameType : std::uint8_t {
  kLogin = 1,
  kWelcome = 2,
  kDirect = 3,
  kDeliver = 4,
  kShout = 5,
  kBroadcast = 6,
  kPing = 7,
  kPong = 8,
  kError = 9,
};

inline constexpr std::size_t kHeaderBytes = 8;
inline constexpr std::size_t kMaxBody = 64 * 1024;
inline constexpr std::size_t kMaxName = 255;

struct FrameHeader {
  std::uint32_t length = 0;
  std::uint8_t type = 0;  // a FrameType, unchecked
};

// Reads the header at `bytes` (at least kHeaderBytes long), whatever the host byte order.
inline FrameHeader readHeader(const char* bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes);
  const std::uint32_t length = std::uint32_t{b[0]} | std::uint32_t{b[1]} << 8 |
                               std::uint32_t{b[2]} << 16 | std::uint32_t{b[3]} << 24;
  return FrameHeader{length, b[4]};
}

inline void appendHeader(std::string& out, std::size_t bodyBytes, FrameType type) {
  const auto length = static_cast<std::uint32_t>(bodyBytes);
  const char header[kHeaderBytes] = {static_cast<char>(length & 0xFF),
                                     static_cast<char>(length >> 8 & 0xFF),
                                     static_cast<char>(length >> 16 & 0xFF),
                                     static_cast<char>(length >> 24 & 0xFF),
                                     static_cast<char>(type),
                                     0,
                                     0,
                                     0};
  out.append(header, kHeaderBytes);
}

inline void appendFrame(std::string& out, FrameType type, std::string_view body) {
  appendHeader(out, body.size(), type);
  out += body;
}

// A frame whose body is u8 n, name[n], text (kDirect, kDeliver, kBroadcast). The caller
// keeps `name` within kMaxName.
inline void appendNamedFrame(std::string& out, FrameType type, std::string_view name,
                             std::string_view text) {
  appendHeader(out, 1 + name.size() + text.size(), type);
  out += static_cast<char>(name.size());
  out += name;
  out += text;
}

// Splits a u8-n, name, text body; false if the name runs past the body.
inline bool splitNamed(std::string_view body, std::string_view& name, std::string_view& text) {
  if (body.empty()) return false;
  const auto n = static_cast<unsigned char>(body[0]);
  if (body.size() < 1 + static_cast<std::size_t>(n)) return false;
  name = body.substr(1, n);
  text = body.substr(1 + n);
  return true;
}

}  // namespace classchat::bench::relay
