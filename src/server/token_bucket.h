// A token bucket: `rate` tokens per second, holding at most `burst`.
#pragma once

#include <algorithm>
#include <chrono>

namespace classchat::server {

// Value type, not thread-safe (one per session, used on its loop). A rate of 0 means
// unlimited. Refilled lazily from the caller's clock reading, so it costs nothing while idle.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket() = default;
  TokenBucket(double ratePerSecond, double burst, Clock::time_point now)
      : rate_(ratePerSecond), burst_(burst), tokens_(burst), last_(now) {}

  // Takes one token if there is one.
  bool tryTake(Clock::time_point now) {
    if (rate_ <= 0) return true;
    const std::chrono::duration<double> elapsed = now - last_;
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  Clock::time_point last_{};
};

}  // namespace classchat::server
