// Shouts held back for a moment when they follow each other closely, so that each listener
// of a loop is written once per batch instead of once per shout.
//
// Why: a loop writes every listener at the end of the iteration that delivered a shout. A
// single process under load reads many shouts per iteration, so that comes for free (39.7
// deliveries per send() at 6,700 shouts/s to 1,000 listeners). A cluster node does not:
// each shout reaches it alone (from its client, or as one subscription message from
// another node), and at a few hundred shouts per second every delivery cost one send()
// and one read() in the listener (1.24 deliveries per send() on 4 nodes; BENCHMARKS.md,
// issue #13). Holding shouts that arrive within `window` of the loop's last delivery of
// shouts bounds a listener's writes to one per window whatever the rate, and costs nothing
// when shouts are rare: one after a quiet window goes at once.
//
// This class only decides and keeps the frames; ChatLoop owns the timer and delivers.
// Not thread-safe: one loop's.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/tcp_connection.h"

namespace classchat::server {

class ShoutCoalescer {
 public:
  using Clock = std::chrono::steady_clock;
  struct Held {
    std::string bytes;  // the frames, one after the other
    struct Item {
      std::uint32_t offset, length;
      net::ConnectionId except;  // the sender on this loop (0: none), who does not get it
      // Who gets it: the sessions registered when it arrived, as a registration count (a
      // loop numbers its registrations; Session::registeredOrder).
      std::uint64_t audience;
    };
    std::vector<Item> items;
    std::string_view frame(const Item& item) const {
      return std::string_view(bytes).substr(item.offset, item.length);
    }
  };

  // window 0 turns holding off: every shout is delivered when it arrives.
  ShoutCoalescer(Clock::duration window, std::size_t maxHeldBytes)
      : window_(window), maxHeldBytes_(maxHeldBytes) {}

  bool enabled() const { return window_ > Clock::duration::zero(); }
  // Whether a shout arriving at `now` must wait: some are held already (it goes after
  // them), or the last delivery was less than a window ago.
  bool mustHold(Clock::time_point now) const {
    return holding() || (delivered_ && now - lastDelivery_ < window_);
  }
  // Keeps a copy of the frame, after those held before.
  void hold(std::string_view frame, net::ConnectionId except, std::uint64_t audience) {
    held_.items.push_back(Held::Item{static_cast<std::uint32_t>(held_.bytes.size()),
                                     static_cast<std::uint32_t>(frame.size()), except, audience});
    held_.bytes.append(frame);
  }
  // Whether what is held should go now rather than at dueAt(): it reached the byte bound.
  bool full() const { return held_.bytes.size() >= maxHeldBytes_; }
  bool holding() const { return !held_.items.empty(); }
  // Whether a held shout is for the session `id`, registered as `registeredOrder`: one it
  // did not send, that arrived after it registered.
  bool holdsFor(net::ConnectionId id, std::uint64_t registeredOrder) const {
    for (const Held::Item& item : held_.items) {
      if (item.except != id && item.audience >= registeredOrder) return true;
    }
    return false;
  }
  // When what is held is due: a window after the last delivery.
  Clock::time_point dueAt() const { return lastDelivery_ + window_; }
  // Hands over everything held (nothing if nothing is) and counts it as delivered at `now`.
  Held take(Clock::time_point now) {
    delivered(now);
    Held out;
    std::swap(out, held_);
    return out;
  }
  // Records a delivery made at `now` without holding (a shout after a quiet window).
  void delivered(Clock::time_point now) {
    delivered_ = true;
    lastDelivery_ = now;
  }

 private:
  Clock::duration window_;
  std::size_t maxHeldBytes_;
  Held held_;
  bool delivered_ = false;
  Clock::time_point lastDelivery_{};
};

}  // namespace classchat::server
