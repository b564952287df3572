#include "server/connection_limiter.h"

namespace classchat::server {

Admission ConnectionLimiter::admit(std::string_view address) {
  std::lock_guard lock(mutex_);
  if (maxConnections_ != 0 && open_ >= maxConnections_) return Admission::kServerFull;
  if (maxPerAddress_ != 0) {
    std::size_t& count = perAddress_[std::string(address)];
    if (count >= maxPerAddress_) return Admission::kAddressFull;
    ++count;
  }
  ++open_;
  return Admission::kAdmitted;
}

void ConnectionLimiter::release(std::string_view address) {
  std::lock_guard lock(mutex_);
  --open_;
  if (maxPerAddress_ == 0) return;
  const auto found = perAddress_.find(std::string(address));
  if (found != perAddress_.end() && --found->second == 0) perAddress_.erase(found);
}

}  // namespace classchat::server
