#include "hub/local_hub.h"

#include <algorithm>
#include <memory>

#include <spdlog/spdlog.h>

#include "protocol/json_writer.h"

namespace classchat::server {

LocalHub::LocalHub(net::EventLoop& loop, std::uint32_t loopIndex, NameRegistry& registry,
                   LocalDelivery& delivery, LocalHubOptions options)
    : loop_(loop),
      loopIndex_(loopIndex),
      registry_(registry),
      delivery_(delivery),
      options_(options) {
  loop_.addBeforeSleepHook([this] { postBatches(); });
}

void LocalHub::connectPeers(std::vector<LocalHub*> hubsByLoopIndex) {
  peers_ = std::move(hubsByLoopIndex);
  outgoing_.resize(peers_.size());
  inFlight_ = std::make_unique<std::atomic<std::size_t>[]>(peers_.size());
  // Every other loop gets an equal share of a target's queue, so one loop's flood cannot
  // crowd out the others' traffic towards that target.
  const std::size_t others = peers_.size() > 1 ? peers_.size() - 1 : 1;
  sharePerPeer_ = options_.maxQueuedBytesPerLoop == 0
                      ? 0
                      : std::max<std::size_t>(1, options_.maxQueuedBytesPerLoop / others);
}

std::optional<ClaimOutcome> LocalHub::claim(std::string_view name, net::ConnectionId connection,
                                            ClaimDone) {
  ClaimOutcome outcome;
  outcome.name = std::string(name);
  if (!registry_.claim(name, connection)) {
    outcome.result = ClaimResult::kTaken;
    return outcome;
  }
  outcome.result = ClaimResult::kClaimed;
  applyJoin(outcome.name, connection);
  for (LocalHub* peer : peers_) {
    if (peer == this) continue;
    peer->loop_.post(
        [peer, owned = outcome.name, connection] { peer->applyJoin(owned, connection); });
  }
  outcome.welcome = *readNames(0, kClaimPageNames, nullptr);
  return outcome;
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

void LocalHub::checkOwnerGone(std::string_view name, std::function<void()> then) {
  // Decided by the fact, on the loop that owns the old connection: is its peer gone? Not by
  // counting iterations, which a close behind unread input outlasts.
  const std::optional<net::ConnectionId> owner = registry_.ownerOf(name);
  const std::uint32_t holderIndex = owner ? net::loopIndexOf(*owner) : 0;
  if (!owner || holderIndex >= peers_.size()) {
    loop_.post(std::move(then));  // already free: the retry will tell
    return;
  }
  LocalHub* holder = peers_[holderIndex];
  LocalHub* origin = this;
  holder->loop_.post([holder, origin, connection = *owner, then = std::move(then)]() mutable {
    if (holder->delivery_.releaseIfPeerGone(connection)) {
      holder->ownerGoneReleases_.fetch_add(1, std::memory_order_relaxed);
    }
    origin->loop_.post(std::move(then));
  });
}

void LocalHub::applyJoin(const std::string& name, net::ConnectionId connection) {
  // A join may overtake the leave of the name's previous owner (they are posted from
  // different loops), so the newer registration simply replaces the entry.
  if (const auto found = replica_.find(name); found != replica_.end()) eraseFromReplica(found);
  const auto [added, inserted] = replica_.emplace(name, connection);
  index_.insert(&added->first);
  nameBytes_ += added->first.size();
}

void LocalHub::applyLeave(const std::string& name, net::ConnectionId connection) {
  const auto found = replica_.find(name);
  if (found == replica_.end() || found->second != connection) return;
  eraseFromReplica(found);
}

void LocalHub::eraseFromReplica(
    std::unordered_map<std::string, net::ConnectionId, protocol::NameHash,
                       protocol::NameEqual>::iterator entry) {
  index_.erase(entry->first);  // first: the index compares through the key
  nameBytes_ -= entry->first.size();
  replica_.erase(entry);
}

std::optional<OnlineUser> LocalHub::find(std::string_view name) const {
  const auto found = replica_.find(name);
  if (found == replica_.end()) return std::nullopt;
  return OnlineUser{found->first, Route{kThisNode, found->second}};
}

std::optional<std::size_t> LocalHub::rankOf(std::string_view name) const {
  return index_.rankOf(name);
}

std::vector<std::string_view> LocalHub::onlineNamesFrom(std::size_t first,
                                                        std::size_t count) const {
  std::vector<std::string_view> names;
  if (first >= index_.size()) return names;
  names.reserve(std::min(count, index_.size() - first));
  index_.collect(first, count, names);
  return names;
}

std::optional<DirectoryStats> LocalHub::readStats(std::string_view self, StatsDone) {
  return DirectoryStats{replica_.size(), nameBytes_, self.empty() ? std::nullopt : rankOf(self),
                        false};
}

std::optional<DirectoryPage> LocalHub::readNames(std::size_t first, std::size_t count, PageDone) {
  DirectoryPage page;
  page.online = replica_.size();
  const std::vector<std::string_view> names = onlineNamesFrom(first, count);
  page.names.assign(names.begin(), names.end());
  return page;
}

DirectOutcome LocalHub::sendDirect(const DirectMessage& message) {
  const auto found = replica_.find(message.to);
  if (found == replica_.end()) return DirectOutcome{DirectStatus::kNotFound, {}};
  frame_.clear();
  protocol::appendMessageFrame(frame_, message.senderName, message.senderIp, found->first,
                               message.msg);
  const SendResult sent = sendTo(Route{kThisNode, found->second}, frame_);
  return DirectOutcome{sent == SendResult::kQueued ? DirectStatus::kSent : DirectStatus::kShed,
                       found->first};
}

std::optional<ActOutcome> LocalHub::actOnName(std::string_view name, SessionAction action,
                                              ActDone) {
  const std::optional<OnlineUser> user = find(name);
  if (!user) return ActOutcome{false, {}, false};
  ActOutcome outcome{true, std::string(user->name), false};
  act(user->route, std::move(action));
  return outcome;
}

std::size_t LocalHub::queuedBytesTowards(std::uint32_t target) const {
  if (target >= peers_.size()) return 0;
  return inFlight_[target].load(std::memory_order_relaxed);
}

SendResult LocalHub::sendTo(const Route& route, std::string_view frame) {
  const std::uint32_t target = route.loop();
  if (target == loopIndex_) {
    delivery_.deliverLocal(route.connection, frame);
    return SendResult::kQueued;
  }
  if (target >= outgoing_.size()) return SendResult::kQueued;  // no such loop: nobody to tell
  return enqueue(target, route.connection, frame, false) ? SendResult::kQueued : SendResult::kShed;
}

SendResult LocalHub::broadcast(std::string_view frame, net::ConnectionId except) {
  delivery_.deliverToAllLocal(frame, except);
  SendResult result = SendResult::kQueued;
  for (std::uint32_t target = 0; target < outgoing_.size(); ++target) {
    if (target != loopIndex_ && !enqueue(target, except, frame, true)) result = SendResult::kShed;
  }
  return result;
}

bool LocalHub::enqueue(std::uint32_t target, net::ConnectionId connection, std::string_view frame,
                       bool isBroadcast) {
  Batch& batch = outgoing_[target];
  if (sharePerPeer_ != 0) {
    const std::size_t wouldHold = inFlight_[target].load(std::memory_order_relaxed) + batch.cost() +
                                  frame.size() + sizeof(Batch::Item);
    if (wouldHold > sharePerPeer_) {
      shedFrames_.fetch_add(1, std::memory_order_relaxed);
      shedBytes_.fetch_add(frame.size(), std::memory_order_relaxed);
      return false;
    }
  }
  batch.add(connection, frame, isBroadcast);
  return true;
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
    const std::size_t cost = batch.cost();
    auto handed = std::make_shared<Batch>(std::move(batch));
    batch = Batch{};
    LocalHub* peer = peers_[target];
    std::atomic<std::size_t>* inFlight = &inFlight_[target];
    inFlight->fetch_add(cost, std::memory_order_relaxed);
    const bool posted = peer->loop_.tryPost(
        [peer, handed, inFlight, cost] {
          peer->deliverBatch(*handed);
          inFlight->fetch_sub(cost, std::memory_order_relaxed);
        },
        cost);
    if (!posted) {
      // The target's own bound is a backstop above the shares (ChatServer sizes it so), so
      // this means a loop is far behind. The senders were already answered; count the loss.
      inFlight->fetch_sub(cost, std::memory_order_relaxed);
      shedFrames_.fetch_add(handed->items.size(), std::memory_order_relaxed);
      shedBytes_.fetch_add(handed->bytes.size(), std::memory_order_relaxed);
      spdlog::warn("loop {} is not keeping up: {} frames for it dropped", target,
                   handed->items.size());
    }
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

void LocalHub::act(const Route& route, SessionAction action) {
  const std::uint32_t owner = route.loop();
  if (owner == loopIndex_) {
    delivery_.actLocal(route.connection, action);
    return;
  }
  if (owner >= peers_.size()) return;
  LocalHub* peer = peers_[owner];
  peer->loop_.post([peer, connection = route.connection, action = std::move(action)] {
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
