#include "bench/schedule.h"

namespace classchat::bench {

Schedule Schedule::uniformGaps(TimeNs start, TimeNs minGap, TimeNs maxGap, std::uint64_t seed) {
  Schedule schedule;
  schedule.random_.seed(seed);
  schedule.minGap_ = minGap;
  schedule.maxGap_ = std::max(minGap, maxGap);
  schedule.next_ = start;
  schedule.next_ =
      start + std::uniform_int_distribution<TimeNs>(minGap, schedule.maxGap_)(schedule.random_);
  return schedule;
}

Schedule Schedule::fixedRate(TimeNs start, TimeNs interval, TimeNs phase) {
  Schedule schedule;
  schedule.fixed_ = true;
  schedule.start_ = start + phase;
  schedule.minGap_ = schedule.maxGap_ = std::max<TimeNs>(interval, 1);
  schedule.next_ = schedule.start_;
  return schedule;
}

TimeNs Schedule::take() {
  const TimeNs current = next_;
  ++taken_;
  if (fixed_) {
    next_ = start_ + static_cast<TimeNs>(taken_) * minGap_;
  } else {
    next_ += std::uniform_int_distribution<TimeNs>(minGap_, maxGap_)(random_);
  }
  return current;
}

}  // namespace classchat::bench
