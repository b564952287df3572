#include "transport/websocket_handshake.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>

namespace classchat::transport {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether a comma-separated field value holds `token` (ASCII case-insensitive).
bool hasToken(std::optional<std::string_view> value, std::string_view token) {
  if (!value) return false;
  std::string_view rest = *value;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    if (equalsIgnoreCase(trim(rest.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

// A Sec-WebSocket-Key must be the base64 of 16 bytes: 22 characters and "==".
bool validKey(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  return std::all_of(key.begin(), key.begin() + 22, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
  });
}

// "host:port" of an authority, with the scheme's default port when there is none.
std::string withPort(std::string_view authority, std::string_view defaultPort) {
  std::string out;
  for (char c : authority) out += lower(c);
  // An IPv6 literal ends with ']'; any other ':' starts the port.
  const std::size_t bracket = out.rfind(']');
  const std::size_t colon = out.rfind(':');
  if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket)) {
    out += ':';
    out += defaultPort;
  }
  return out;
}

}  // namespace

bool wantsWebSocket(const HttpRequest& request) {
  return hasToken(request.header("Upgrade"), "websocket");
}

bool originAllowed(std::optional<std::string_view> origin, std::optional<std::string_view> host,
                   const OriginPolicy& policy) {
  // Browsers always send Origin on a WebSocket; a program need not, and is not a page
  // that another site could have loaded.
  if (!origin) return true;
  const std::string_view o = trim(*origin);
  if (policy.allowed.empty()) {
    if (!host) return false;
    std::string_view authority;
    std::string_view defaultPort;
    if (o.starts_with("http://")) {
      authority = o.substr(7);
      defaultPort = "80";
    } else if (o.starts_with("https://")) {
      authority = o.substr(8);
      defaultPort = "443";
    } else {
      return false;  // "null" (a file, a sandbox) or anything else: not our page
    }
    if (authority.empty() || authority.find('/') != std::string_view::npos) return false;
    // Host carries no scheme; a browser's Host for our page has the page's port, or none
    // for the scheme's default.
    return withPort(authority, defaultPort) == withPort(trim(*host), defaultPort);
  }
  return std::any_of(policy.allowed.begin(), policy.allowed.end(), [&](const std::string& entry) {
    return entry == "*" || equalsIgnoreCase(entry, o);
  });
}

WebSocketHandshake checkWebSocketHandshake(const HttpRequest& request, const OriginPolicy& policy) {
  if (request.method != "GET") return {405, "a WebSocket upgrade must be a GET", {}};
  if (request.minorVersion != 1) return {400, "a WebSocket upgrade needs HTTP/1.1", {}};
  if (!wantsWebSocket(request)) return {400, "missing 'Upgrade: websocket'", {}};
  if (!hasToken(request.header("Connection"), "upgrade")) {
    return {400, "missing 'Connection: Upgrade'", {}};
  }
  const auto version = request.header("Sec-WebSocket-Version");
  if (!version || trim(*version) != "13") {
    return {426, "only WebSocket version 13 is supported", {}};
  }
  const auto key = request.header("Sec-WebSocket-Key");
  if (!key || !validKey(trim(*key))) return {400, "missing or malformed Sec-WebSocket-Key", {}};
  if (!originAllowed(request.header("Origin"), request.header("Host"), policy)) {
    return {403,
            fmt::format("origin '{}' may not connect (see --http-allowed-origins)",
                        request.header("Origin").value_or(""))
                .substr(0, 200),
            {}};
  }
  return {101, {}, webSocketAccept(trim(*key))};
}

std::string webSocketAccept(std::string_view key) {
  std::string input(key);
  input += kGuid;
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  std::array<unsigned char, 4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1> encoded{};
  const int n = EVP_EncodeBlock(encoded.data(), digest.data(), SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(n));
}

std::string switchingProtocolsResponse(std::string_view accept) {
  return fmt::format(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: {}\r\n\r\n",
      accept);
}

}  // namespace classchat::transport
