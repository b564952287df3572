#include "transport/websocket_handshake.h"

#include <gtest/gtest.h>

namespace classchat::transport {
namespace {

HttpRequest upgradeRequest() {
  HttpRequest request;
  request.method = "GET";
  request.target = request.path = "/ws";
  request.headers = {{"Host", "chat.example.org:8080"},
                     {"Upgrade", "websocket"},
                     {"Connection", "keep-alive, Upgrade"},
                     {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                     {"Sec-WebSocket-Version", "13"}};
  return request;
}

void setHeader(HttpRequest& request, const std::string& name, const std::string& value) {
  for (auto& [n, v] : request.headers) {
    if (n == name) {
      v = value;
      return;
    }
  }
  request.headers.emplace_back(name, value);
}

TEST(WebSocketHandshakeTest, AcceptIsTheRfc6455Example) {
  EXPECT_EQ(webSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshakeTest, AValidRequestIsAccepted) {
  const WebSocketHandshake result = checkWebSocketHandshake(upgradeRequest(), {});
  EXPECT_EQ(result.status, 101);
  EXPECT_EQ(result.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_NE(switchingProtocolsResponse(result.accept)
                .find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos);
}

TEST(WebSocketHandshakeTest, TokensAreCaseInsensitiveInLists) {
  HttpRequest request = upgradeRequest();
  setHeader(request, "Upgrade", "WebSocket");
  setHeader(request, "Connection", "UPGRADE");
  EXPECT_EQ(checkWebSocketHandshake(request, {}).status, 101);
  setHeader(request, "Connection", "upgrades");
  EXPECT_EQ(checkWebSocketHandshake(request, {}).status, 400);
}

TEST(WebSocketHandshakeTest, EachMissingPieceHasItsStatus) {
  HttpRequest request = upgradeRequest();
  setHeader(request, "Sec-WebSocket-Version", "8");
  EXPECT_EQ(checkWebSocketHandshake(request, {}).status, 426);
  request = upgradeRequest();
  setHeader(request, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ");  // no padding
  EXPECT_EQ(checkWebSocketHandshake(request, {}).status, 400);
  setHeader(request, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25j*Q==");
  EXPECT_EQ(checkWebSocketHandshake(request, {}).status, 400);
  request = upgradeRequest();
  request.method = "HEAD";
  EXPECT_EQ(checkWebSocketHandshake(request, {}).status, 405);
  request = upgradeRequest();
  request.minorVersion = 0;
  EXPECT_EQ(checkWebSocketHandshake(request, {}).status, 400);
  request = upgradeRequest();
  setHeader(request, "Origin", "http://elsewhere.example");
  EXPECT_EQ(checkWebSocketHandshake(request, {}).status, 403);
}

TEST(WebSocketHandshakeTest, DefaultOriginPolicyIsTheServersOwnPage) {
  const OriginPolicy own;
  EXPECT_TRUE(originAllowed(std::nullopt, "h:8080", own));  // a program, not a page
  EXPECT_TRUE(originAllowed("http://h:8080", "h:8080", own));
  EXPECT_TRUE(originAllowed("http://H:8080", "h:8080", own));
  EXPECT_TRUE(originAllowed("http://h", "h", own));
  EXPECT_TRUE(originAllowed("http://h", "h:80", own));
  EXPECT_TRUE(originAllowed("https://h", "h:443", own));
  EXPECT_TRUE(originAllowed("http://[::1]:8080", "[::1]:8080", own));
  EXPECT_FALSE(originAllowed("http://[::1]", "[::1]:8080", own));
  EXPECT_FALSE(originAllowed("http://h:8081", "h:8080", own));
  EXPECT_FALSE(originAllowed("http://evil.h:8080", "h:8080", own));
  EXPECT_FALSE(originAllowed("null", "h:8080", own));
  EXPECT_FALSE(originAllowed("http://h:8080/", "h:8080", own));
  EXPECT_FALSE(originAllowed("http://h:8080", std::nullopt, own));
}

TEST(WebSocketHandshakeTest, AllowedOriginsReplaceTheDefault) {
  const OriginPolicy listed{{"https://chat.example.org"}};
  EXPECT_TRUE(originAllowed("https://CHAT.example.org", "x", listed));
  EXPECT_FALSE(originAllowed("http://x", "x", listed));
  EXPECT_TRUE(originAllowed(std::nullopt, "x", listed));
  const OriginPolicy any{{"*"}};
  EXPECT_TRUE(originAllowed("http://anything.example", "x", any));
}

}  // namespace
}  // namespace classchat::transport
