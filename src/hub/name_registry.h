// The authority on which names are taken, shared by all loops.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "net/tcp_connection.h"
#include "protocol/names.h"

namespace classchat::server {

// Thread-safe. Taken only on register and disconnect (and ownerOf when a taken name is
// retried), never per message: the message
// path reads each loop's own replica of the directory instead (see LocalHub).
class NameRegistry {
 public:
  // True if `name` was free (ignoring ASCII case) and is now held by `connection`.
  bool claim(std::string_view name, net::ConnectionId connection);
  // Frees `name` if `connection` holds it.
  void release(std::string_view name, net::ConnectionId connection);
  // The connection holding `name`, or nullopt if it is free. Only a snapshot: another loop
  // may change it at any time.
  std::optional<net::ConnectionId> ownerOf(std::string_view name) const;
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, net::ConnectionId, protocol::NameHash, protocol::NameEqual>
      owners_;  // guarded by mutex_
};

}  // namespace classchat::server
