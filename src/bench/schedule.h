// Open-loop send times for one sender.
#pragma once

#include <cstdint>
#include <random>

#include "bench/clock.h"

namespace classchat::bench {

// The times at which one sender must send, decided in advance. The next time never
// depends on when the previous send happened or was answered, so a server that stalls
// cannot slow the offered load down and hide its latency (no coordinated omission):
// a late send still carries, and is measured from, its scheduled time.
//
// Not thread-safe; one per sender.
class Schedule {
 public:
  // Gaps drawn uniformly from [minGap, maxGap]; the first send one gap after `start`.
  static Schedule uniformGaps(TimeNs start, TimeNs minGap, TimeNs maxGap, std::uint64_t seed);
  // Every `interval`, the first at start + phase (phase in [0, interval)). Times are
  // start + phase + k * interval, computed without accumulating rounding.
  static Schedule fixedRate(TimeNs start, TimeNs interval, TimeNs phase);

  // A schedule with no sends (peek() is the far future) until one of the above replaces it.
  Schedule() = default;

  TimeNs peek() const { return next_; }
  // Returns the next scheduled time and advances past it.
  TimeNs take();
  std::uint64_t taken() const { return taken_; }

 private:
  TimeNs start_ = 0;
  TimeNs minGap_ = 0;
  TimeNs maxGap_ = 0;
  TimeNs next_ = INT64_MAX;
  std::uint64_t taken_ = 0;
  bool fixed_ = false;
  std::mt19937_64 random_;
};

}  // namespace classchat::bench
