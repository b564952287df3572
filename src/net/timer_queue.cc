#include "net/timer_queue.h"

namespace classchat::net {

TimerId TimerQueue::add(Clock::time_point when, std::function<void()> callback) {
  const TimerId id = nextId_++;
  const auto it = byDeadline_.emplace(when, std::make_pair(id, std::move(callback)));
  byId_.emplace(id, it);
  return id;
}

void TimerQueue::cancel(TimerId id) {
  const auto found = byId_.find(id);
  if (found == byId_.end()) return;
  byDeadline_.erase(found->second);
  byId_.erase(found);
}

int TimerQueue::millisecondsUntilNext(Clock::time_point now) const {
  if (byDeadline_.empty()) return -1;
  const auto wait = byDeadline_.begin()->first - now;
  if (wait <= Clock::duration::zero()) return 0;
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
}

void TimerQueue::runExpired(Clock::time_point now) {
  while (!byDeadline_.empty() && byDeadline_.begin()->first <= now) {
    auto node = byDeadline_.extract(byDeadline_.begin());
    byId_.erase(node.mapped().first);
    // The callback may add or cancel timers; the node is already out of the queue.
    node.mapped().second();
  }
}

}  // namespace classchat::net
