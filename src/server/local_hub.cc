#include "server/local_hub.h"

#include <algorithm>
#include <atomic>
#include <memory>

namespace classchat::server {

LocalHub::LocalHub(net::EventLoop& loop, std::uint32_t loopIndex, NameRegistry& registry,
                   LocalDelivery& delivery)
    : loop_(loop), loopIndex_(loopIndex), registry_(registry), delivery_(delivery) {
  loop_.addBeforeSleepHook([this] { postBatches(); });
}

void LocalHub::connectPeers(std::vector<LocalHub*> hubsByLoopIndex) {
  peers_ = std::move(hubsByLoopIndex);
  outgoing_.resize(peers_.size());
}

ClaimResult LocalHub::claim(std::string_view name, net::ConnectionId connection) {
  if (!registry_.claim(name, connection)) return ClaimResult::kTaken;
  const std::string owned(name);
  applyJoin(owned, connection);
  for (LocalHub* peer : peers_) {
    if (peer == this) continue;
    peer->loop_.post([peer, owned, connection] { peer->applyJoin(owned, connection); });
  }
  return ClaimResult::kClaimed;
}

void LocalHub::release(std::string_view name, net::ConnectionId connection) {
  registry_.release(name, connection);
  const std::string owned(name);
  applyLeave(owned, connection);
  for (LocalHub* peer : peers_) {
    if (peer == this) continue;
    peer->loop_.post([peer, owned, connection] { peer->applyLeave(owned, connection); });
  }
}

void LocalHub::afterPendingCloses(std::function<void()> then) {
  // Each loop passes three hops: the first task may run before that loop polls again, the
  // second runs before the I/O of an iteration whose poll started after the first (so a
  // close that already arrived is read in that iteration, and its name released in the
  // iteration's before-sleep), and the third runs after all of that.
  auto remaining = std::make_shared<std::atomic<std::size_t>>(peers_.size());
  auto done = std::make_shared<std::function<void()>>(std::move(then));
  LocalHub* origin = this;
  for (LocalHub* peer : peers_) {
    net::EventLoop* loop = &peer->loop_;
    loop->post([loop, origin, remaining, done] {
      loop->post([loop, origin, remaining, done] {
        loop->post([origin, remaining, done] {
          if (remaining->fetch_sub(1) == 1) origin->loop_.post([done] { (*done)(); });
        });
      });
    });
  }
}

void LocalHub::applyJoin(const std::string& name, net::ConnectionId connection) {
  // A join may overtake the leave of the name's previous owner (they are posted from
  // different loops), so the newer registration simply replaces the entry.
  if (const auto found = replica_.find(name); found != replica_.end()) {
    firstNamesRemove(found->first);
    replica_.erase(found);
  }
  const auto [added, inserted] = replica_.emplace(name, connection);
  firstNamesAdd(added->first);
}

void LocalHub::applyLeave(const std::string& name, net::ConnectionId connection) {
  const auto found = replica_.find(name);
  if (found == replica_.end() || found->second != connection) return;
  firstNamesRemove(found->first);
  replica_.erase(found);
}

void LocalHub::firstNamesAdd(std::string_view name) {
  if (firstNamesStale_) return;  // the rebuild will see it
  // The kept names are the smallest of all; `name` belongs among them if they are all
  // there is or it sorts before the last.
  if (firstNames_.size() == kFirstNamesKept && !protocol::nameLess(name, firstNames_.back())) {
    return;
  }
  firstNames_.insert(
      std::upper_bound(firstNames_.begin(), firstNames_.end(), name, protocol::nameLess), name);
  if (firstNames_.size() > kFirstNamesKept) firstNames_.pop_back();
}

void LocalHub::firstNamesRemove(std::string_view name) {
  // Called while the replica still holds `name`; the view compared is its key.
  const auto kept = std::find_if(firstNames_.begin(), firstNames_.end(),
                                 [&](std::string_view n) { return n.data() == name.data(); });
  if (kept == firstNames_.end()) return;
  firstNames_.erase(kept);
  // Unless they were all the names there are, the next smallest is not known here.
  if (replica_.size() - 1 > firstNames_.size()) {
    firstNamesStale_ = true;
    firstNames_.clear();
  }
}

std::optional<OnlineUser> LocalHub::find(std::string_view name) const {
  const auto found = replica_.find(name);
  if (found == replica_.end()) return std::nullopt;
  return OnlineUser{found->first, found->second};
}

std::vector<std::string_view> LocalHub::onlineNamesSorted() const {
  std::vector<std::string_view> names;
  names.reserve(replica_.size());
  for (const auto& [name, connection] : replica_) names.push_back(name);
  std::sort(names.begin(), names.end(), protocol::nameLess);
  return names;
}

std::vector<std::string_view> LocalHub::firstOnlineNames(std::size_t limit) const {
  if (limit <= kFirstNamesKept) {
    if (firstNamesStale_) {
      firstNames_ = firstOnlineNamesBySorting(kFirstNamesKept);
      firstNamesStale_ = false;
    }
    return {firstNames_.begin(),
            firstNames_.begin() + static_cast<std::ptrdiff_t>(std::min(limit, firstNames_.size()))};
  }
  return firstOnlineNamesBySorting(limit);
}

std::vector<std::string_view> LocalHub::firstOnlineNamesBySorting(std::size_t limit) const {
  std::vector<std::string_view> names;
  names.reserve(replica_.size());
  for (const auto& [name, connection] : replica_) names.push_back(name);
  const std::size_t shown = std::min(limit, names.size());
  std::partial_sort(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(shown), names.end(),
                    protocol::nameLess);
  names.resize(shown);
  return names;
}

void LocalHub::sendTo(const OnlineUser& user, std::string_view frame) {
  const std::uint32_t target = net::loopIndexOf(user.connection);
  if (target == loopIndex_) {
    delivery_.deliverLocal(user.connection, frame);
  } else if (target < outgoing_.size()) {
    outgoing_[target].add(user.connection, frame, false);
  }
}

void LocalHub::broadcast(std::string_view frame, net::ConnectionId except) {
  delivery_.deliverToAllLocal(frame, except);
  for (std::uint32_t target = 0; target < outgoing_.size(); ++target) {
    if (target != loopIndex_) outgoing_[target].add(except, frame, true);
  }
}

void LocalHub::Batch::add(net::ConnectionId connection, std::string_view frame, bool isBroadcast) {
  items.push_back(Item{connection, static_cast<std::uint32_t>(bytes.size()),
                       static_cast<std::uint32_t>(frame.size()), isBroadcast});
  bytes.append(frame);
}

void LocalHub::postBatches() {
  for (std::uint32_t target = 0; target < outgoing_.size(); ++target) {
    Batch& batch = outgoing_[target];
    if (batch.items.empty()) continue;
    auto handed = std::make_shared<Batch>(std::move(batch));
    batch = Batch{};
    LocalHub* peer = peers_[target];
    peer->loop_.post([peer, handed] { peer->deliverBatch(*handed); });
  }
}

void LocalHub::deliverBatch(const Batch& batch) {
  const std::string_view bytes = batch.bytes;
  for (const Batch::Item& item : batch.items) {
    const std::string_view frame = bytes.substr(item.offset, item.length);
    if (item.broadcast) {
      delivery_.deliverToAllLocal(frame, item.connection);
    } else {
      delivery_.deliverLocal(item.connection, frame);
    }
  }
}

void LocalHub::act(const OnlineUser& user, SessionAction action) {
  const std::uint32_t owner = net::loopIndexOf(user.connection);
  if (owner == loopIndex_) {
    delivery_.actLocal(user.connection, action);
    return;
  }
  LocalHub* peer = peers_[owner];
  peer->loop_.post([peer, connection = user.connection, action = std::move(action)] {
    peer->delivery_.actLocal(connection, action);
  });
}

void LocalHub::actOnAddress(std::string address, SessionAction action) {
  for (LocalHub* peer : peers_) {
    if (peer == this) {
      delivery_.actOnAddressLocal(address, action);
      continue;
    }
    peer->loop_.post(
        [peer, address, action] { peer->delivery_.actOnAddressLocal(address, action); });
  }
}

}  // namespace classchat::server
