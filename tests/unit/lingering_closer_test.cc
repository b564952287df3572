#include "net/lingering_closer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "net_test_support.h"

namespace classchat::net {
namespace {

using namespace std::chrono_literals;
using testing::Ending;
using testing::LoopThread;
using testing::readToEnd;
using testing::runOnLoop;
using testing::tcpPair;

TEST(LingeringCloser, PeerGetsTheLastBytesThenEofWhileItsOwnInputIsDiscarded) {
  EventLoop loop;
  int closed = 0;  // loop thread only
  LingeringCloser closer(loop, 4, 10s, [&] { ++closed; });
  LoopThread thread(loop);
  auto [client, server] = tcpPair();
  // The peer sent something we never read: a plain close() would answer with an RST.
  ASSERT_EQ(::send(client.get(), "unread", 6, 0), 6);
  ASSERT_EQ(::send(server.get(), "Error: bye\n", 11, 0), 11);
  EXPECT_TRUE(runOnLoop(loop, [&] { return closer.add(std::move(server)); }));
  EXPECT_EQ(runOnLoop(loop, [&] { return closer.size(); }), 1u);
  // The peer keeps sending after it was told off; still no reset.
  const std::string blob(1 << 20, 'x');
  ASSERT_EQ(::send(client.get(), blob.data(), blob.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(blob.size()));
  const auto [data, ending] = readToEnd(client.get());
  EXPECT_EQ(data, "Error: bye\n");
  EXPECT_EQ(ending, Ending::kEof);
  // Once the peer closes too, the socket is closed.
  client.reset();
  EXPECT_TRUE(testing::eventuallyOnLoop(loop, [&] { return closer.size() == 0 && closed == 1; }));
}

TEST(LingeringCloser, DeadlineClosesAPeerThatNeverCloses) {
  EventLoop loop;
  LingeringCloser closer(loop, 4, 50ms);
  LoopThread thread(loop);
  auto [client, server] = tcpPair();
  const auto start = Clock::now();
  EXPECT_TRUE(runOnLoop(loop, [&] { return closer.add(std::move(server)); }));
  EXPECT_TRUE(testing::eventuallyOnLoop(loop, [&] { return closer.size() == 0; }));
  EXPECT_GE(Clock::now() - start, 50ms);
}

TEST(LingeringCloser, BeyondTheBoundASocketIsClosedAtOnce) {
  EventLoop loop;
  LingeringCloser closer(loop, 1, 10s);
  auto [client1, server1] = tcpPair();
  auto [client2, server2] = tcpPair();
  EXPECT_TRUE(closer.add(std::move(server1)));
  EXPECT_FALSE(closer.add(std::move(server2)));
  EXPECT_EQ(closer.size(), 1u);
  EXPECT_EQ(closer.overflowed(), 1u);
  // The second was closed outright: its peer sees EOF now.
  EXPECT_EQ(readToEnd(client2.get()).second, Ending::kEof);
}

TEST(LingeringCloser, CloseAllReadsWhatArrivedSoThePeerGetsEofNotAReset) {
  EventLoop loop;
  int closed = 0;
  LingeringCloser closer(loop, 4, 10s, [&] { ++closed; });
  auto [client, server] = tcpPair();
  ASSERT_TRUE(closer.add(std::move(server)));
  ASSERT_EQ(::send(client.get(), "late", 4, 0), 4);
  std::this_thread::sleep_for(20ms);  // loopback delivers at once; be generous
  closer.closeAll();
  EXPECT_EQ(closer.size(), 0u);
  EXPECT_EQ(closed, 1);
  EXPECT_EQ(readToEnd(client.get()).second, Ending::kEof);
}

}  // namespace
}  // namespace classchat::net
