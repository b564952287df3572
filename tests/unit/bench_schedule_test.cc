#include "bench/schedule.h"

#include <gtest/gtest.h>

namespace classchat::bench {
namespace {

TEST(BenchSchedule, FixedRateDoesNotDrift) {
  Schedule s = Schedule::fixedRate(1000, 3, 1);
  EXPECT_EQ(s.take(), 1001);
  EXPECT_EQ(s.take(), 1004);
  for (int i = 0; i < 998; ++i) s.take();
  EXPECT_EQ(s.peek(), 1001 + 1000 * 3);
  EXPECT_EQ(s.taken(), 1000u);
}

TEST(BenchSchedule, UniformGapsStayInRangeAndIgnoreWhenSent) {
  Schedule s = Schedule::uniformGaps(0, 100, 1000, 42);
  TimeNs previous = 0;
  for (int i = 0; i < 1000; ++i) {
    const TimeNs t = s.take();
    EXPECT_GE(t - previous, 100);
    EXPECT_LE(t - previous, 1000);
    previous = t;
  }
}

TEST(BenchSchedule, SameSeedSameTimes) {
  Schedule a = Schedule::uniformGaps(0, 1, 1000000, 7);
  Schedule b = Schedule::uniformGaps(0, 1, 1000000, 7);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.take(), b.take());
}

TEST(BenchSchedule, DefaultHasNothingDue) {
  Schedule s;
  EXPECT_GT(s.peek(), nowNs() + 1000 * kSecond);
}

}  // namespace
}  // namespace classchat::bench
