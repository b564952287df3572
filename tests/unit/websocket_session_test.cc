#include "transport/websocket_session.h"

#include <sys/socket.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/event_loop.h"
#include "net/tcp_server.h"

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

namespace classchat::transport {
namespace {

// A masked client frame (mask key 0: the payload is as written).
std::string clientFrame(std::uint8_t first, std::string_view payload) {
  std::string out;
  WebSocketSession::appendFrame(first & 0x0F, payload, out);
  out[0] = static_cast<char>(first);
  out[1] = static_cast<char>(out[1] | 0x80);
  out.insert(payload.size() < 126 ? 2 : payload.size() <= 0xFFFF ? 4 : 10, 4, '\0');
  return out;
}

TEST(WebSocketFrameBoundaryTest, WholeFramesEndOnABoundaryEvenFedByteByByte) {
  WebSocketFrameBoundary boundary;
  const std::string frames = clientFrame(0x81, "hello") + clientFrame(0x81, std::string(300, 'x')) +
                             clientFrame(0x81, std::string(70000, 'y'));
  const std::size_t ends[] = {11, 11 + 308, frames.size()};
  std::size_t next = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    boundary.feed(std::string_view(frames).substr(i, 1));
    const bool atEnd = next < 3 && i + 1 == ends[next];
    EXPECT_EQ(boundary.atMessageBoundary(), atEnd) << "after byte " << i;
    if (atEnd) ++next;
  }
  EXPECT_EQ(next, 3u);
}

TEST(WebSocketFrameBoundaryTest, AFragmentedMessageIsOpenUntilItsLastPartEvenAcrossPings) {
  WebSocketFrameBoundary boundary;
  boundary.feed(clientFrame(0x01, "{\"to\":"));  // text, no FIN
  EXPECT_FALSE(boundary.atMessageBoundary());
  boundary.feed(clientFrame(0x89, "ping"));  // a control frame between fragments
  EXPECT_FALSE(boundary.atMessageBoundary());
  boundary.feed(clientFrame(0x00, "\"bob\","));  // continuation, no FIN
  EXPECT_FALSE(boundary.atMessageBoundary());
  boundary.feed(clientFrame(0x80, "\"msg\":\"hi\"}"));  // the last continuation
  EXPECT_TRUE(boundary.atMessageBoundary());
  boundary.feed(clientFrame(0x8A, ""));  // an empty pong
  EXPECT_TRUE(boundary.atMessageBoundary());
}

}  // namespace
}  // namespace classchat::transport

namespace classchat::transport {
namespace {

struct NoHandler final : net::ConnectionHandler {
  void onConnected(net::TcpConnection&) override {}
  void onData(net::TcpConnection&, std::string_view) override {}
  void onClosed(net::TcpConnection&) override {}
};

struct Recorder final : WebSocketListener {
  std::vector<std::string> texts;
  void onWebSocketText(net::TcpConnection&, std::string_view text) override {
    texts.emplace_back(text);
  }
  std::uint16_t webSocketCloseCode(const net::TcpConnection&) override { return kWsGoingAway; }
};

// A WebSocketSession on one end of a socketpair, never registered with the loop: only
// its parsing and its output queue are exercised.
class WebSocketSessionOnConnectionTest : public ::testing::Test {
 protected:
  WebSocketSessionOnConnectionTest()
      : server_(loop_, 0, *net::InetAddress::parse("127.0.0.1", 0), handler_, {}) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    peer_ = net::Fd(fds[1]);
    connection_ = std::make_unique<net::TcpConnection>(server_, net::Fd(fds[0]), 1, "10.0.0.1", 1);
    session_ = std::make_unique<WebSocketSession>(*connection_, recorder_, 1000);
  }

  net::EventLoop loop_;
  NoHandler handler_;
  net::TcpServer server_;
  net::Fd peer_{-1};
  Recorder recorder_;
  std::unique_ptr<net::TcpConnection> connection_;
  std::unique_ptr<WebSocketSession> session_;
};

TEST_F(WebSocketSessionOnConnectionTest, SendsAreFramedAsText) {
  connection_->send("abc");
  ASSERT_EQ(connection_->state(), net::TcpConnection::State::kOpen);
  EXPECT_EQ(connection_->queuedBytes(), 5u);  // 0x81 0x03 "abc"
}

TEST_F(WebSocketSessionOnConnectionTest, TheParserIsHeldOnlyWithinAMessage) {
  EXPECT_FALSE(session_->holdsParser());  // nothing received yet: nothing held
  session_->receive(clientFrame(0x81, "one"));
  EXPECT_FALSE(session_->holdsParser());  // a whole message: released at once

  // Half a fragmented message: the parser is kept, across heartbeats too.
  session_->receive(clientFrame(0x01, "tw"));
  EXPECT_TRUE(session_->holdsParser());
  EXPECT_TRUE(session_->heartbeat());
  EXPECT_TRUE(session_->holdsParser());
  const std::string last = clientFrame(0x80, "o");
  session_->receive(std::string_view(last).substr(0, 3));  // and half a header
  EXPECT_TRUE(session_->holdsParser());
  session_->receive(std::string_view(last).substr(3));
  EXPECT_FALSE(session_->holdsParser());

  // A ping between messages is answered, then released too.
  session_->receive(clientFrame(0x89, "p"));
  EXPECT_FALSE(session_->holdsParser());
  EXPECT_EQ(connection_->queuedBytes(), 3u);  // the pong: 0x8A 0x01 "p"

  session_->receive(clientFrame(0x81, "three"));
  EXPECT_EQ(recorder_.texts, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(connection_->state(), net::TcpConnection::State::kOpen);
}

TEST_F(WebSocketSessionOnConnectionTest, HeartbeatPingsASilentPeerThenGivesUp) {
  session_->receive(clientFrame(0x81, "hi"));
  EXPECT_TRUE(session_->heartbeat());  // heard from: no ping
  EXPECT_EQ(connection_->queuedBytes(), 0u);
  EXPECT_TRUE(session_->heartbeat());  // silent: a ping
  EXPECT_EQ(connection_->queuedBytes(), 2u);
  EXPECT_FALSE(session_->heartbeat());  // still silent: gone
}

}  // namespace
}  // namespace classchat::transport
