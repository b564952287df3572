// Caps on open connections: in total and per client address.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace classchat::server {

enum class Admission { kAdmitted, kServerFull, kAddressFull };

// Thread-safe (shared by all loops). Touched only when a connection opens or closes.
// A limit of 0 means unlimited.
class ConnectionLimiter {
 public:
  ConnectionLimiter(std::size_t maxConnections, std::size_t maxPerAddress)
      : maxConnections_(maxConnections), maxPerAddress_(maxPerAddress) {}

  // Counts the connection if it fits; every kAdmitted must be paired with release().
  Admission admit(std::string_view address);
  void release(std::string_view address);

 private:
  const std::size_t maxConnections_;
  const std::size_t maxPerAddress_;
  std::mutex mutex_;
  std::size_t open_ = 0;                                     // guarded by mutex_
  std::unordered_map<std::string, std::size_t> perAddress_;  // guarded by mutex_; only when capped
};

}  // namespace classchat::server
