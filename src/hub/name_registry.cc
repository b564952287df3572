#include "hub/name_registry.h"

namespace classchat::server {

bool NameRegistry::claim(std::string_view name, net::ConnectionId connection) {
  std::lock_guard lock(mutex_);
  return owners_.try_emplace(std::string(name), connection).second;
}

void NameRegistry::release(std::string_view name, net::ConnectionId connection) {
  std::lock_guard lock(mutex_);
  const auto found = owners_.find(name);
  if (found != owners_.end() && found->second == connection) owners_.erase(found);
}

std::optional<net::ConnectionId> NameRegistry::ownerOf(std::string_view name) const {
  std::lock_guard lock(mutex_);
  const auto found = owners_.find(name);
  if (found == owners_.end()) return std::nullopt;
  return found->second;
}

std::size_t NameRegistry::size() const {
  std::lock_guard lock(mutex_);
  return owners_.size();
}

}  // namespace classchat::server
