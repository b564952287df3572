// ShoutCoalescer: when shouts are held back, and that they come out whole and in order.
#include "server/shout_coalescer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace classchat::server {
namespace {

using namespace std::chrono_literals;
using Clock = ShoutCoalescer::Clock;

const Clock::time_point kStart = Clock::time_point() + 1h;

std::vector<std::string> frames(const ShoutCoalescer::Held& held) {
  std::vector<std::string> out;
  for (const auto& item : held.items) out.emplace_back(held.frame(item));
  return out;
}

TEST(ShoutCoalescer, TheFirstShoutAndOneAfterAQuietWindowGoAtOnce) {
  ShoutCoalescer shouts(10ms, 1024);
  EXPECT_TRUE(shouts.enabled());
  EXPECT_FALSE(shouts.mustHold(kStart));
  shouts.delivered(kStart);
  EXPECT_FALSE(shouts.mustHold(kStart + 10ms));
  EXPECT_FALSE(shouts.mustHold(kStart + 1s));
}

TEST(ShoutCoalescer, ShoutsWithinAWindowOfTheLastDeliveryWaitUntilItEnds) {
  ShoutCoalescer shouts(10ms, 1024);
  shouts.delivered(kStart);
  ASSERT_TRUE(shouts.mustHold(kStart + 1ms));
  shouts.hold("A\n", 7, 3);
  EXPECT_TRUE(shouts.holding());
  EXPECT_EQ(shouts.dueAt(), kStart + 10ms);
  // Later shouts wait behind the held ones even past the window, so the order holds.
  EXPECT_TRUE(shouts.mustHold(kStart + 11ms));
  shouts.hold("BB\n", 0, 4);
  const ShoutCoalescer::Held held = shouts.take(kStart + 10ms);
  EXPECT_EQ(frames(held), (std::vector<std::string>{"A\n", "BB\n"}));
  EXPECT_EQ(held.items[0].except, 7u);
  EXPECT_EQ(held.items[1].except, 0u);
  EXPECT_EQ(held.items[0].audience, 3u);
  EXPECT_EQ(held.items[1].audience, 4u);
  EXPECT_FALSE(shouts.holding());
  // The batch counts as a delivery: the next window starts from it.
  EXPECT_TRUE(shouts.mustHold(kStart + 15ms));
  EXPECT_EQ(shouts.dueAt(), kStart + 20ms);
  EXPECT_FALSE(shouts.mustHold(kStart + 20ms));
}

TEST(ShoutCoalescer, HoldsForThoseWhoDidNotSendAndHadRegistered) {
  ShoutCoalescer shouts(10ms, 1024);
  shouts.delivered(kStart);
  EXPECT_FALSE(shouts.holdsFor(7, 1));
  shouts.hold("A\n", 7, 3);             // sent by 7 when three had registered
  EXPECT_FALSE(shouts.holdsFor(7, 1));  // its sender
  EXPECT_TRUE(shouts.holdsFor(8, 3));   // the third to register
  EXPECT_FALSE(shouts.holdsFor(9, 4));  // registered after it arrived
}

TEST(ShoutCoalescer, HeldBytesPastTheBoundAreReportedFull) {
  ShoutCoalescer shouts(10ms, 8);
  shouts.delivered(kStart);
  shouts.hold("AAAA", 0, 1);
  EXPECT_FALSE(shouts.full());
  shouts.hold("BBBB", 0, 1);
  EXPECT_TRUE(shouts.full());
  EXPECT_EQ(frames(shouts.take(kStart)), (std::vector<std::string>{"AAAA", "BBBB"}));
  EXPECT_FALSE(shouts.full());
}

TEST(ShoutCoalescer, AZeroWindowIsOff) {
  ShoutCoalescer shouts(Clock::duration::zero(), 1024);
  EXPECT_FALSE(shouts.enabled());
  shouts.delivered(kStart);
  EXPECT_FALSE(shouts.mustHold(kStart));
}

}  // namespace
}  // namespace classchat::server
