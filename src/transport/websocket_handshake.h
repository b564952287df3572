// The WebSocket opening handshake (RFC 6455 section 4) on the HTTP port: checking an
// upgrade request and computing Sec-WebSocket-Accept. Pure functions, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transport/http_request.h"

namespace classchat::transport {

// Which pages may open a WebSocket (--http-allowed-origins). Empty: only the server's own
// page, i.e. an Origin whose host:port equals the request's Host, or no Origin at all
// (a program, not a browser page). "*" allows any origin; other entries are origins
// compared whole, ASCII case-insensitively (e.g. "https://chat.example.org").
struct OriginPolicy {
  std::vector<std::string> allowed;
};

struct WebSocketHandshake {
  int status = 101;    // 101, or the 4xx to answer with
  std::string reason;  // why it was refused (for the body and the log)
  std::string accept;  // Sec-WebSocket-Accept when status is 101
};

// True when the request asks for a WebSocket upgrade (an Upgrade field naming websocket).
bool wantsWebSocket(const HttpRequest& request);

// Checks an upgrade request: GET, HTTP/1.1, Upgrade: websocket, Connection: upgrade,
// Sec-WebSocket-Version: 13 (426 otherwise), a Sec-WebSocket-Key of 16 base64 bytes (400
// otherwise), and an allowed Origin (403 otherwise).
WebSocketHandshake checkWebSocketHandshake(const HttpRequest& request, const OriginPolicy& policy);

// base64(SHA-1(key + the RFC 6455 GUID)).
std::string webSocketAccept(std::string_view key);

// Whether `origin` (the Origin field, if any) may connect to a server reached as `host`
// (the Host field).
bool originAllowed(std::optional<std::string_view> origin, std::optional<std::string_view> host,
                   const OriginPolicy& policy);

// The whole 101 response (no Content-Length: a 1xx has no body).
std::string switchingProtocolsResponse(std::string_view accept);

}  // namespace classchat::transport
