#include "bench/websocket_framing.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace classchat::bench {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr std::size_t kMaxResponseHead = 8192;

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::uint64_t splitmix(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

WebSocketFraming::WebSocketFraming(std::uint64_t seed) : state_(seed) {
  splitmix(state_);
}

std::string WebSocketFraming::makeKey(std::uint64_t seed) {
  unsigned char bytes[16];
  for (int i = 0; i < 2; ++i) {
    const std::uint64_t v = splitmix(seed);
    std::memcpy(bytes + 8 * i, &v, 8);
  }
  return base64(bytes, sizeof bytes);
}

std::string WebSocketFraming::acceptFor(std::string_view key) {
  std::string joined(key);
  joined += kGuid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), digest);
  return base64(digest, sizeof digest);
}

void WebSocketFraming::appendUpgradeRequest(std::string& out, std::string_view host,
                                            std::string_view key) {
  fmt::format_to(std::back_inserter(out),
                 "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n\r\n",
                 host, key);
}

WebSocketFraming::Handshake WebSocketFraming::checkResponse(std::string_view input,
                                                            std::string_view expectedAccept,
                                                            std::size_t& headBytes,
                                                            std::string& reason) {
  const std::size_t end = input.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (input.size() <= kMaxResponseHead) return Handshake::kIncomplete;
    reason = "websocket: the response head is too large";
    return Handshake::kRefused;
  }
  headBytes = end + 4;
  std::string_view head = input.substr(0, end + 2);
  const std::size_t firstEnd = head.find("\r\n");
  const std::string_view status = head.substr(0, firstEnd);
  if (!status.starts_with("HTTP/1.1 101")) {
    reason = fmt::format("websocket: the upgrade was refused: {}", status);
    return Handshake::kRefused;
  }
  head.remove_prefix(firstEnd + 2);
  bool accepted = false;
  while (!head.empty()) {
    const std::size_t lineEnd = head.find("\r\n");
    const std::string_view line = head.substr(0, lineEnd);
    head.remove_prefix(lineEnd + 2);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (equalsIgnoreCase(trim(line.substr(0, colon)), "Sec-WebSocket-Accept")) {
      accepted = trim(line.substr(colon + 1)) == expectedAccept;
    }
  }
  if (!accepted) {
    reason = "websocket: the 101 has no or a wrong Sec-WebSocket-Accept";
    return Handshake::kRefused;
  }
  return Handshake::kAccepted;
}

void WebSocketFraming::appendFrame(std::string& out, std::uint8_t opcode,
                                   std::string_view payload) {
  // xorshift64: cheap, and a mask only has to be unpredictable to a browser's script,
  // which the bench is not.
  state_ ^= state_ << 13;
  state_ ^= state_ >> 7;
  state_ ^= state_ << 17;
  std::uint8_t mask[4];
  std::memcpy(mask, &state_, 4);
  appendFrame(out, opcode, payload, mask);
}

void WebSocketFraming::appendFrame(std::string& out, std::uint8_t opcode, std::string_view payload,
                                   const std::uint8_t mask[4]) {
  const std::size_t size = payload.size();
  out.push_back(static_cast<char>(0x80 | opcode));
  if (size < 126) {
    out.push_back(static_cast<char>(0x80 | size));
  } else if (size <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(size >> 8));
    out.push_back(static_cast<char>(size & 0xFF));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((size >> (56 - 8 * i)) & 0xFF));
  }
  out.append(reinterpret_cast<const char*>(mask), 4);
  const std::size_t start = out.size();
  out.resize(start + size);
  char* dst = out.data() + start;
  for (std::size_t i = 0; i < size; ++i) {
    dst[i] = static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ mask[i & 3]);
  }
}

WebSocketFraming::Decode WebSocketFraming::decode(std::string_view input, std::size_t maxPayload,
                                                  Frame& frame, std::string& error) {
  if (input.size() < 2) return Decode::kIncomplete;
  const auto b0 = static_cast<std::uint8_t>(input[0]);
  const auto b1 = static_cast<std::uint8_t>(input[1]);
  frame.fin = (b0 & 0x80) != 0;
  frame.opcode = b0 & 0x0F;
  if ((b0 & 0x70) != 0) {
    error = "websocket: a server frame with RSV bits";
    return Decode::kError;
  }
  if ((b1 & 0x80) != 0) {
    error = "websocket: a masked server frame";
    return Decode::kError;
  }
  std::uint64_t length = b1 & 0x7F;
  std::size_t header = 2;
  if (length == 126) {
    if (input.size() < 4) return Decode::kIncomplete;
    length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(input[2])) << 8) |
             static_cast<std::uint8_t>(input[3]);
    header = 4;
  } else if (length == 127) {
    if (input.size() < 10) return Decode::kIncomplete;
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | static_cast<std::uint8_t>(input[2 + i]);
    header = 10;
  }
  const bool control = (frame.opcode & 0x8) != 0;
  if (control && (!frame.fin || length > 125)) {
    error = "websocket: a fragmented or oversized control frame";
    return Decode::kError;
  }
  if ((frame.opcode > kBinary && !control) || frame.opcode > kPong) {
    error = fmt::format("websocket: unknown opcode {}", frame.opcode);
    return Decode::kError;
  }
  if (length > maxPayload) {
    error = fmt::format("websocket: a {}-byte frame, over the bench's limit", length);
    return Decode::kError;
  }
  if (input.size() - header < length) return Decode::kIncomplete;
  frame.payload = input.substr(header, static_cast<std::size_t>(length));
  frame.size = header + static_cast<std::size_t>(length);
  return Decode::kFrame;
}

}  // namespace classchat::bench
