#include "client/backoff.h"

#include <gtest/gtest.h>

namespace classchat::client {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DoublesUpToTheCap) {
  Backoff backoff(milliseconds(500), milliseconds(4000), 0.0);
  EXPECT_EQ(backoff.next(0.5), milliseconds(500));
  EXPECT_EQ(backoff.next(0.5), milliseconds(1000));
  EXPECT_EQ(backoff.next(0.5), milliseconds(2000));
  EXPECT_EQ(backoff.next(0.5), milliseconds(4000));
  EXPECT_EQ(backoff.next(0.5), milliseconds(4000));
  EXPECT_EQ(backoff.attempts(), 5);
}

TEST(Backoff, ResetStartsAgain) {
  Backoff backoff(milliseconds(100), milliseconds(1000), 0.0);
  backoff.next(0.0);
  backoff.next(0.0);
  backoff.reset();
  EXPECT_EQ(backoff.attempts(), 0);
  EXPECT_EQ(backoff.next(0.0), milliseconds(100));
}

TEST(Backoff, JitterSpreadsAroundTheBase) {
  Backoff low(milliseconds(1000), milliseconds(8000), 0.2);
  Backoff high(milliseconds(1000), milliseconds(8000), 0.2);
  EXPECT_EQ(low.next(0.0), milliseconds(800));
  EXPECT_EQ(high.next(0.999999), milliseconds(1199));
}

TEST(Backoff, ManyAttemptsStayAtTheCap) {
  Backoff backoff(milliseconds(1), milliseconds(15000), 0.0);
  milliseconds last{};
  for (int i = 0; i < 10000; ++i) last = backoff.next(0.5);
  EXPECT_EQ(last, milliseconds(15000));
}

}  // namespace
}  // namespace classchat::client
