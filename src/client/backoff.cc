#include "client/backoff.h"

#include <algorithm>

namespace classchat::client {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds maxDelay,
                 double jitter)
    : initial_(initial), max_(std::max(initial, maxDelay)), jitter_(std::clamp(jitter, 0.0, 1.0)) {}

std::chrono::milliseconds Backoff::next(double unitRandom) {
  // Doubling stops once the cap is reached, so the counter cannot overflow the delay.
  double base = static_cast<double>(initial_.count());
  for (int i = 0; i < attempts_ && base < static_cast<double>(max_.count()); ++i) base *= 2;
  base = std::min(base, static_cast<double>(max_.count()));
  ++attempts_;
  const double r = std::clamp(unitRandom, 0.0, 1.0);
  const double factor = 1.0 - jitter_ + 2.0 * jitter_ * r;
  return std::chrono::milliseconds(static_cast<std::int64_t>(base * factor));
}

}  // namespace classchat::client
