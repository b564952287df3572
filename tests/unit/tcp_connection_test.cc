#include "net/tcp_connection.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tcp_test_server.h"

namespace classchat::net {
namespace {

using namespace std::chrono_literals;
using testing::connectTo;
using testing::Ending;
using testing::readToEnd;
using testing::ScriptedHandler;
using testing::seesHangUp;
using testing::TestServer;

// Options under which a peer that does not read fills everything quickly.
TcpServerOptions smallBuffers() {
  TcpServerOptions options;
  options.maxOutputBytes = 64 * 1024;
  options.sendBufferBytes = 4096;
  return options;
}

std::string reasonOfFirstClosed(TestServer& test) {
  return test.on([](TcpServer&, ScriptedHandler& h) { return h.closed.at(0).reason; });
}

TEST(TcpConnection, SlowConsumerIsAbortedWithAReset) {
  TestServer test(smallBuffers());
  test.on([](TcpServer&, ScriptedHandler& h) {
    h.whenData = [](TcpConnection& c, std::string_view) {
      const std::string chunk(1024, 'x');
      for (int i = 0; i < 200 && c.state() == TcpConnection::State::kOpen; ++i) c.send(chunk);
      c.send("never sent");  // ignored: the connection is closed by now
    };
    return 0;
  });
  Fd client = connectTo(test.port(), 4096);
  ASSERT_EQ(::send(client.get(), "go", 2, 0), 2);
  ASSERT_TRUE(test.eventually([](TcpServer&, ScriptedHandler& h) { return h.closed.size() == 1; }));
  EXPECT_EQ(reasonOfFirstClosed(test), "slow consumer: more than 65536 bytes of output queued");
  // Without reading, the client learns at once that it was dropped: an RST, not a FIN
  // queued behind the data its window holds back.
  EXPECT_TRUE(seesHangUp(client.get(), 1000ms));
  EXPECT_EQ(readToEnd(client.get()).second, Ending::kReset);
}

TEST(TcpConnection, AbortHandsOverWhatTheKernelTakesAtOnce) {
  TestServer test;
  test.on([](TcpServer&, ScriptedHandler& h) {
    h.whenData = [](TcpConnection& c, std::string_view) {
      c.send("Error: disconnected for flooding\n");
      c.abort("flooding");
    };
    return 0;
  });
  Fd client = connectTo(test.port());
  ASSERT_EQ(::send(client.get(), "x", 1, 0), 1);
  const auto [data, ending] = readToEnd(client.get());
  EXPECT_EQ(data, "Error: disconnected for flooding\n");
  EXPECT_EQ(ending, Ending::kReset);
  EXPECT_EQ(reasonOfFirstClosed(test), "flooding");
}

TEST(TcpConnection, CloseAfterFlushLingersSoTheReplySurvivesInputInFlight) {
  TestServer test;
  test.on([](TcpServer&, ScriptedHandler& h) {
    h.whenData = [](TcpConnection& c, std::string_view) {
      if (c.state() != TcpConnection::State::kOpen) return;
      c.send("Error: refused\n");
      c.closeAfterFlush("refused");
    };
    return 0;
  });
  Fd client = connectTo(test.port());
  // The name, and straight after it more than the server will ever read.
  const std::string blob(1 << 20, ' ');
  ASSERT_EQ(::send(client.get(), "name", 4, 0), 4);
  ASSERT_TRUE(test.eventually([](TcpServer&, ScriptedHandler& h) { return h.closed.size() == 1; }));
  ASSERT_EQ(::send(client.get(), blob.data(), blob.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(blob.size()));
  const auto [data, ending] = readToEnd(client.get());
  EXPECT_EQ(data, "Error: refused\n");
  EXPECT_EQ(ending, Ending::kEof);
  EXPECT_EQ(reasonOfFirstClosed(test), "refused");
  // The application saw the close at once; the socket lingers until the peer closes.
  EXPECT_EQ(test.on([](TcpServer& s, ScriptedHandler&) { return s.lingeringCount(); }), 1u);
  client.reset();
  EXPECT_TRUE(
      test.eventually([](TcpServer& s, ScriptedHandler&) { return s.lingeringCount() == 0; }));
}

TEST(TcpConnection, DrainingReadsAndDiscardsSoAPeerThatWritesFirstCannotWedgeIt) {
  TestServer test;
  test.on([](TcpServer&, ScriptedHandler& h) {
    h.whenConnected = [](TcpConnection& c) {
      c.send(std::string(200 * 1024, 'o'));
      c.closeAfterFlush("goodbye");
    };
    return 0;
  });
  Fd client = connectTo(test.port());
  // The peer writes a lot before it reads anything; nothing of it reaches the handler.
  const std::string blob(4 << 20, 'i');
  ASSERT_EQ(::send(client.get(), blob.data(), blob.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(blob.size()));
  const auto [data, ending] = readToEnd(client.get());
  EXPECT_EQ(data.size(), 200u * 1024);
  EXPECT_EQ(ending, Ending::kEof);
  EXPECT_EQ(test.on([](TcpServer&, ScriptedHandler& h) { return h.received; }), "");
}

TEST(TcpConnection, DrainDeadlineAbortsAPeerThatDoesNotRead) {
  TcpServerOptions options = smallBuffers();
  options.maxOutputBytes = 1 << 20;
  options.drainTimeout = 100ms;
  TestServer test(options);
  test.on([](TcpServer&, ScriptedHandler& h) {
    h.whenConnected = [](TcpConnection& c) {
      c.send(std::string(512 * 1024, 'o'));
      c.closeAfterFlush("shutting down");
    };
    return 0;
  });
  Fd client = connectTo(test.port(), 4096);
  ASSERT_TRUE(test.eventually([](TcpServer&, ScriptedHandler& h) { return h.closed.size() == 1; }));
  EXPECT_EQ(reasonOfFirstClosed(test), "shutting down (peer did not read its last output in time)");
  EXPECT_TRUE(seesHangUp(client.get(), 1000ms));
}

TEST(TcpConnection, EpollFailureClosesOnlyThatConnection) {
  TestServer test(smallBuffers());
  Fd victim = connectTo(test.port(), 4096);
  Fd bystander = connectTo(test.port());
  ASSERT_TRUE(
      test.eventually([](TcpServer&, ScriptedHandler& h) { return h.connected.size() == 2; }));
  // Take the victim out of epoll behind its back, then give it more output than the
  // kernel takes: changing its interest to EPOLLOUT fails with ENOENT.
  test.on([](TcpServer& s, ScriptedHandler& h) {
    TcpConnection* victimConnection = s.find(h.connected[0]);
    s.loop().remove(victimConnection->fd());
    victimConnection->send(std::string(60 * 1024, 'v'));
    h.whenData = [](TcpConnection& c, std::string_view bytes) { c.send(bytes); };
    return 0;
  });
  ASSERT_TRUE(test.eventually([](TcpServer&, ScriptedHandler& h) { return h.closed.size() == 1; }));
  const auto closed = test.on([](TcpServer&, ScriptedHandler& h) { return h.closed[0]; });
  EXPECT_EQ(closed.reason.rfind("epoll_ctl(MOD) failed: ", 0), 0u) << closed.reason;
  // The loop goes on serving the others.
  ASSERT_EQ(::send(bystander.get(), "echo", 4, 0), 4);
  char reply[4];
  EXPECT_EQ(::recv(bystander.get(), reply, sizeof reply, MSG_WAITALL), 4);
  EXPECT_EQ(std::string(reply, 4), "echo");
}

#ifndef NDEBUG
TEST(TcpConnectionDeathTest, SendOffTheLoopThreadAbortsInDebugBuilds) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_DEATH(
      {
        TestServer test;
        Fd client = connectTo(test.port());
        test.eventually([](TcpServer&, ScriptedHandler& h) { return h.connected.size() == 1; });
        TcpConnection* c =
            test.on([](TcpServer& s, ScriptedHandler& h) { return s.find(h.connected[0]); });
        c->send("from the wrong thread");
      },
      "isInLoopThread");
}
#endif

}  // namespace
}  // namespace classchat::net
