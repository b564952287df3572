#include "net/timer_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace classchat::net {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// A fixed origin: TimerQueue takes `now` as an argument, so no real time passes.
const Clock::time_point kT0 = Clock::now();

TEST(TimerQueue, EmptyQueueHasNoDeadline) {
  TimerQueue timers;
  EXPECT_EQ(timers.size(), 0u);
  EXPECT_EQ(timers.millisecondsUntilNext(kT0), -1);
  timers.runExpired(kT0 + std::chrono::hours(1));  // nothing to run, no crash
}

TEST(TimerQueue, MillisecondsUntilNextRoundsUpAndNeverGoesNegative) {
  TimerQueue timers;
  timers.add(kT0 + microseconds(1500), [] {});
  EXPECT_EQ(timers.millisecondsUntilNext(kT0), 2);
  EXPECT_EQ(timers.millisecondsUntilNext(kT0 + microseconds(1499)), 1);
  EXPECT_EQ(timers.millisecondsUntilNext(kT0 + microseconds(1500)), 0);
  EXPECT_EQ(timers.millisecondsUntilNext(kT0 + milliseconds(10)), 0);
  timers.add(kT0 + milliseconds(1), [] {});
  EXPECT_EQ(timers.millisecondsUntilNext(kT0), 1);  // the earliest deadline counts
}

TEST(TimerQueue, RunsExpiredTimersInDeadlineOrder) {
  TimerQueue timers;
  std::vector<std::string> fired;
  timers.add(kT0 + milliseconds(30), [&] { fired.push_back("30"); });
  timers.add(kT0 + milliseconds(10), [&] { fired.push_back("10"); });
  timers.add(kT0 + milliseconds(20), [&] { fired.push_back("20"); });
  timers.add(kT0 + milliseconds(40), [&] { fired.push_back("40"); });
  timers.runExpired(kT0 + milliseconds(5));
  EXPECT_TRUE(fired.empty());
  timers.runExpired(kT0 + milliseconds(30));  // a deadline equal to now has expired
  EXPECT_EQ(fired, (std::vector<std::string>{"10", "20", "30"}));
  EXPECT_EQ(timers.size(), 1u);
  timers.runExpired(kT0 + milliseconds(100));
  EXPECT_EQ(fired, (std::vector<std::string>{"10", "20", "30", "40"}));
  EXPECT_EQ(timers.size(), 0u);
  EXPECT_EQ(timers.millisecondsUntilNext(kT0), -1);
}

TEST(TimerQueue, EqualDeadlinesFireInTheOrderAdded) {
  TimerQueue timers;
  std::vector<int> fired;
  for (int i = 0; i < 10; ++i) timers.add(kT0, [&fired, i] { fired.push_back(i); });
  timers.runExpired(kT0);
  EXPECT_EQ(fired, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(TimerQueue, EachTimerFiresOnce) {
  TimerQueue timers;
  int count = 0;
  timers.add(kT0, [&] { ++count; });
  timers.runExpired(kT0);
  timers.runExpired(kT0 + milliseconds(1));
  EXPECT_EQ(count, 1);
}

TEST(TimerQueue, IdsAreDistinct) {
  TimerQueue timers;
  const TimerId a = timers.add(kT0, [] {});
  const TimerId b = timers.add(kT0, [] {});
  const TimerId c = timers.add(kT0 + milliseconds(1), [] {});
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_NE(a, c);
}

TEST(TimerQueue, CancelledTimerDoesNotFire) {
  TimerQueue timers;
  std::vector<int> fired;
  const TimerId first = timers.add(kT0 + milliseconds(1), [&] { fired.push_back(1); });
  timers.add(kT0 + milliseconds(2), [&] { fired.push_back(2); });
  timers.cancel(first);
  EXPECT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers.millisecondsUntilNext(kT0), 2);
  timers.runExpired(kT0 + milliseconds(10));
  EXPECT_EQ(fired, std::vector<int>{2});
}

TEST(TimerQueue, CancellingUnknownOrExpiredTimersIsANoOp) {
  TimerQueue timers;
  int count = 0;
  const TimerId id = timers.add(kT0, [&] { ++count; });
  timers.add(kT0 + milliseconds(5), [&] { ++count; });
  timers.runExpired(kT0);
  timers.cancel(id);      // already fired
  timers.cancel(id);      // twice
  timers.cancel(999999);  // never existed
  EXPECT_EQ(timers.size(), 1u);
  timers.runExpired(kT0 + milliseconds(5));
  EXPECT_EQ(count, 2);
}

TEST(TimerQueue, CallbackMayAddTimers) {
  TimerQueue timers;
  std::vector<std::string> fired;
  timers.add(kT0 + milliseconds(1), [&] {
    fired.push_back("first");
    timers.add(kT0 + milliseconds(50), [&] { fired.push_back("later"); });
  });
  timers.runExpired(kT0 + milliseconds(10));
  EXPECT_EQ(fired, std::vector<std::string>{"first"});
  EXPECT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers.millisecondsUntilNext(kT0 + milliseconds(10)), 40);
  timers.runExpired(kT0 + milliseconds(50));
  EXPECT_EQ(fired, (std::vector<std::string>{"first", "later"}));
}

TEST(TimerQueue, CallbackMayRescheduleItself) {
  TimerQueue timers;
  int ticks = 0;
  std::function<void()> tick;
  Clock::time_point next = kT0;
  tick = [&] {
    ++ticks;
    next += milliseconds(10);
    timers.add(next, tick);
  };
  timers.add(next, tick);
  for (int ms = 0; ms <= 95; ms += 5) timers.runExpired(kT0 + milliseconds(ms));
  EXPECT_EQ(ticks, 10);  // at 0, 10, ..., 90
  EXPECT_EQ(timers.size(), 1u);
}

TEST(TimerQueue, CallbackMayCancelAnotherExpiredTimer) {
  TimerQueue timers;
  std::vector<int> fired;
  TimerId second = 0;
  timers.add(kT0 + milliseconds(1), [&] {
    fired.push_back(1);
    timers.cancel(second);
  });
  second = timers.add(kT0 + milliseconds(2), [&] { fired.push_back(2); });
  timers.add(kT0 + milliseconds(3), [&] { fired.push_back(3); });
  timers.runExpired(kT0 + milliseconds(10));
  EXPECT_EQ(fired, (std::vector<int>{1, 3}));
  EXPECT_EQ(timers.size(), 0u);
}

TEST(TimerQueue, CallbackMayCancelItself) {
  TimerQueue timers;
  int count = 0;
  TimerId self = 0;
  self = timers.add(kT0, [&] {
    ++count;
    timers.cancel(self);
  });
  timers.runExpired(kT0);
  EXPECT_EQ(count, 1);
  EXPECT_EQ(timers.size(), 0u);
}

}  // namespace
}  // namespace classchat::net
