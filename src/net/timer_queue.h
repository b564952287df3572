// Deadline-ordered callbacks for one event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>

namespace classchat::net {

using Clock = std::chrono::steady_clock;
using TimerId = std::uint64_t;

// Not thread-safe: owned and used by one EventLoop.
class TimerQueue {
 public:
  TimerId add(Clock::time_point when, std::function<void()> callback);
  // Cancelling an expired or unknown timer is a no-op.
  void cancel(TimerId id);
  // Milliseconds until the earliest deadline (rounded up), or -1 when none is set.
  int millisecondsUntilNext(Clock::time_point now) const;
  // Runs every callback whose deadline is at or before `now`.
  void runExpired(Clock::time_point now);
  std::size_t size() const { return byId_.size(); }

 private:
  using Entries = std::multimap<Clock::time_point, std::pair<TimerId, std::function<void()>>>;
  Entries byDeadline_;
  std::unordered_map<TimerId, Entries::iterator> byId_;
  TimerId nextId_ = 1;
};

}  // namespace classchat::net
