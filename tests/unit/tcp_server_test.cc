#include "net/tcp_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tcp_test_server.h"

namespace classchat::net {
namespace {

using testing::connectTo;
using testing::Ending;
using testing::readToEnd;
using testing::ScriptedHandler;
using testing::TestServer;

TEST(TcpServer, AcceptsConnectionsAndHandsTheirBytesToTheHandler) {
  TestServer test;
  Fd client = connectTo(test.port());
  ASSERT_EQ(::send(client.get(), "hello", 5, 0), 5);
  ASSERT_TRUE(
      test.eventually([](TcpServer&, ScriptedHandler& h) { return h.received == "hello"; }));
  const auto [count, id, ip, port] = test.on([](TcpServer& s, ScriptedHandler& h) {
    TcpConnection* c = s.find(h.connected.at(0));
    return std::make_tuple(s.connectionCount(), c->id(), c->peerIp(), c->peerPort());
  });
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(loopIndexOf(id), TestServer::kLoopIndex);  // the id names its loop
  EXPECT_EQ(ip, "127.0.0.1");
  sockaddr_in local{};
  socklen_t length = sizeof local;
  ::getsockname(client.get(), reinterpret_cast<sockaddr*>(&local), &length);
  EXPECT_EQ(port, ntohs(local.sin_port));
}

TEST(TcpServer, ConnectionIdsAreDistinct) {
  TestServer test;
  Fd a = connectTo(test.port());
  Fd b = connectTo(test.port());
  ASSERT_TRUE(
      test.eventually([](TcpServer&, ScriptedHandler& h) { return h.connected.size() == 2; }));
  const auto ids = test.on([](TcpServer&, ScriptedHandler& h) { return h.connected; });
  EXPECT_NE(ids[0], ids[1]);
}

TEST(TcpServer, PeerCloseReportsOnClosedOnceAndForgetsTheConnection) {
  TestServer test;
  Fd client = connectTo(test.port());
  ASSERT_TRUE(
      test.eventually([](TcpServer&, ScriptedHandler& h) { return h.connected.size() == 1; }));
  client.reset();
  ASSERT_TRUE(test.eventually([](TcpServer& s, ScriptedHandler& h) {
    return h.closed.size() == 1 && s.connectionCount() == 0;
  }));
  const auto [closed, found] = test.on([](TcpServer& s, ScriptedHandler& h) {
    return std::make_pair(h.closed, s.find(h.connected[0]) != nullptr);
  });
  EXPECT_EQ(closed[0].reason, "peer closed the connection");
  EXPECT_FALSE(found);
  // Nothing lingers: the peer had already closed, so there was nothing left to read.
  EXPECT_EQ(test.on([](TcpServer& s, ScriptedHandler&) { return s.lingeringCount(); }), 0u);
}

TEST(TcpServer, OutputSentInOneIterationArrivesInOrder) {
  TestServer test;
  test.on([](TcpServer&, ScriptedHandler& h) {
    h.whenData = [](TcpConnection& c, std::string_view bytes) {
      // Three sends in one iteration: one write at its end, in order.
      c.send("1:");
      c.send(bytes);
      c.send(":3\n");
      c.closeAfterFlush("done");
    };
    return 0;
  });
  Fd client = connectTo(test.port());
  ASSERT_EQ(::send(client.get(), "two", 3, 0), 3);
  const auto [data, ending] = readToEnd(client.get());
  EXPECT_EQ(data, "1:two:3\n");
  EXPECT_EQ(ending, Ending::kEof);
}

TEST(TcpServer, SendBufferIsCappedPerConnection) {
  TcpServerOptions options;
  options.sendBufferBytes = 64 * 1024;
  TestServer test(options);
  Fd client = connectTo(test.port());
  ASSERT_TRUE(
      test.eventually([](TcpServer&, ScriptedHandler& h) { return h.connected.size() == 1; }));
  const int bytes = test.on([](TcpServer& s, ScriptedHandler& h) {
    int value = 0;
    socklen_t length = sizeof value;
    ::getsockopt(s.find(h.connected[0])->fd(), SOL_SOCKET, SO_SNDBUF, &value, &length);
    return value;
  });
  EXPECT_EQ(bytes, 2 * 64 * 1024);  // the kernel doubles it for its bookkeeping
}

TEST(TcpServer, StopAcceptingRefusesNewConnections) {
  TestServer test;
  const std::uint16_t port = test.port();
  test.on([](TcpServer& s, ScriptedHandler&) {
    s.stopAccepting();
    return 0;
  });
  Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const sockaddr_in address = testing::loopback(port);
  EXPECT_NE(::connect(client.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address),
            0);
  EXPECT_EQ(errno, ECONNREFUSED);
}

}  // namespace
}  // namespace classchat::net
