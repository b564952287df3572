// Delays between reconnection attempts: exponential, capped, with jitter.
#pragma once

#include <chrono>

namespace classchat::client {

// The n-th delay (n counted from 0 since the last reset) is
//   min(maxDelay, initial * 2^n) * (1 - jitter + 2 * jitter * r)
// for a random r in [0, 1), so many clients that lost the same server do not all come
// back in the same millisecond. Not thread-safe; pure apart from its counter.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds maxDelay,
          double jitter = 0.2);

  // The delay before the next attempt, given `unitRandom` in [0, 1).
  std::chrono::milliseconds next(double unitRandom);
  // After a successful connection the delays start again from `initial`.
  void reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  double jitter_;
  int attempts_ = 0;
};

}  // namespace classchat::client
