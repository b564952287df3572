#include "transport/websocket_session.h"

#include <gtest/gtest.h>

#include <string>

namespace classchat::transport {
namespace {

TEST(WebSocketSessionTest, FramesUseTheShortestLengthEncoding) {
  std::string out;
  WebSocketSession::appendFrame(0x1, "hi", out);
  EXPECT_EQ(out, std::string("\x81\x02hi", 4));

  out.clear();
  WebSocketSession::appendFrame(0x1, std::string(125, 'a'), out);
  EXPECT_EQ(out.substr(0, 2), std::string("\x81\x7d", 2));
  EXPECT_EQ(out.size(), 127u);

  out.clear();
  WebSocketSession::appendFrame(0x1, std::string(126, 'a'), out);
  EXPECT_EQ(out.substr(0, 4), std::string("\x81\x7e\x00\x7e", 4));

  out.clear();
  WebSocketSession::appendFrame(0x2, std::string(70000, 'a'), out);
  EXPECT_EQ(out.substr(0, 10), std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x11\x70", 10));
  EXPECT_EQ(out.size(), 70010u);
}

TEST(WebSocketSessionTest, ClosePayloadHoldsTheCodeAndAShortValidReason) {
  EXPECT_EQ(WebSocketSession::closePayload(1001, "bye"), std::string("\x03\xe9"
                                                                     "bye",
                                                                     5));
  // 122 ASCII bytes then a two-byte character: the reason stops before it, not inside it.
  const std::string reason = std::string(122, 'a') + "\xc3\xa9" + "tail";
  const std::string payload = WebSocketSession::closePayload(1008, reason);
  EXPECT_EQ(payload.size(), 2u + 122u);
  EXPECT_EQ(payload.substr(2), std::string(122, 'a'));
}

}  // namespace
}  // namespace classchat::transport
