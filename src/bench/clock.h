// Monotonic time in nanoseconds, shared by every process on the machine.
#pragma once

#include <time.h>

#include <cstdint>

namespace classchat::bench {

// Nanoseconds of CLOCK_MONOTONIC. The clock is system-wide, so a timestamp written by
// one process (a worker, or a payload's scheduled time) can be compared in another.
using TimeNs = std::int64_t;

inline TimeNs nowNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<TimeNs>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline constexpr TimeNs kMicrosecond = 1'000;
inline constexpr TimeNs kMillisecond = 1'000'000;
inline constexpr TimeNs kSecond = 1'000'000'000;

inline constexpr TimeNs secondsToNs(double seconds) {
  return static_cast<TimeNs>(seconds * 1e9);
}
inline constexpr double nsToMs(TimeNs ns) {
  return static_cast<double>(ns) / 1e6;
}

}  // namespace classchat::bench
