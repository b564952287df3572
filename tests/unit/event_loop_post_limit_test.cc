// EventLoop's bound on tasks posted with tryPost().
#include <gtest/gtest.h>

#include <thread>

#include "net/event_loop.h"

namespace classchat::net {
namespace {

TEST(EventLoopPostLimit, TryPostIsRefusedAndCountedPastTheBound) {
  EventLoop loop;
  loop.setMaxPendingBytes(100);
  int ran = 0;
  EXPECT_TRUE(loop.tryPost([&] { ++ran; }, 60));
  EXPECT_FALSE(loop.tryPost([&] { ran += 100; }, 60));
  EXPECT_TRUE(loop.tryPost([&] { ++ran; }, 40));  // exactly at the bound
  EXPECT_EQ(loop.pendingBytes(), 100u);
  EXPECT_EQ(loop.refusedPosts(), 1u);
  loop.post([&] {  // control work is never refused
    ++ran;
    loop.quit();
  });
  loop.run();  // runs what was queued, then returns
  EXPECT_EQ(ran, 3);
  EXPECT_EQ(loop.pendingBytes(), 0u);
  // Once the queue ran, there is room again.
  EXPECT_TRUE(loop.tryPost([] {}, 100));
}

TEST(EventLoopPostLimit, NoBoundByDefault) {
  EventLoop loop;
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(loop.tryPost([] {}, std::size_t{1} << 30));
  EXPECT_EQ(loop.refusedPosts(), 0u);
}

}  // namespace
}  // namespace classchat::net
