// The in-process Hub: one per loop, sharing a NameRegistry.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "hub/hub.h"
#include "hub/name_index.h"
#include "hub/name_registry.h"
#include "net/event_loop.h"
#include "protocol/names.h"

namespace classchat::server {

struct LocalHubOptions {
  // Frame bytes that may wait for one loop, from all the other loops together: each other
  // loop may have an equal share in flight towards it (gathered this iteration, or handed
  // over and not yet delivered). Past its share, a frame is shed and the sender told. 0: no
  // bound.
  std::size_t maxQueuedBytesPerLoop = 64 << 20;
};

// Each loop's LocalHub keeps a replica of the directory (name -> connection), so lookups
// on the message path touch only loop-local memory. Joins and leaves are decided by the
// shared NameRegistry and then posted to every other loop's replica. Beside the replica,
// an ordered index of its names (NameIndex: nameLess order, with ranks) makes a /list
// page or a welcome cost about N/100 + the names shown, instead of a sort of everyone.
//
// Frames for connections on other loops are collected per target loop during an
// iteration and handed over in one posted batch at its end: one wake-up per target loop
// per iteration, however many messages. Frames from one sender to one recipient keep
// their order because they always travel the same loop-to-loop queue. What one loop may
// have in flight towards another is bounded (LocalHubOptions); the excess is shed.
//
// Thread-safety: use a LocalHub only on its loop's thread, except the counters, which any
// thread may read.
class LocalHub final : public Hub {
 public:
  LocalHub(net::EventLoop& loop, std::uint32_t loopIndex, NameRegistry& registry,
           LocalDelivery& delivery, LocalHubOptions options = {});

  // Wires the hubs of all loops together; call once on every hub before the loops run.
  void connectPeers(std::vector<LocalHub*> hubsByLoopIndex);

  // Hub: every answer is given at once (no `done` is ever called).
  std::optional<ClaimOutcome> claim(std::string_view name, net::ConnectionId connection,
                                    ClaimDone done) override;
  void release(std::string_view name, net::ConnectionId connection) override;
  void checkOwnerGone(std::string_view name, std::function<void()> then) override;
  std::optional<DirectoryStats> readStats(std::string_view self, StatsDone done) override;
  std::optional<DirectoryPage> readNames(std::size_t first, std::size_t count,
                                         PageDone done) override;
  DirectOutcome sendDirect(const DirectMessage& message) override;
  SendResult broadcast(std::string_view frame, net::ConnectionId except) override;
  std::optional<ActOutcome> actOnName(std::string_view name, SessionAction action,
                                      ActDone done) override;
  void actOnAddress(std::string address, SessionAction action) override;

  // The claim's verdict alone (for tests and tools).
  ClaimResult claim(std::string_view name, net::ConnectionId connection) {
    return claim(name, connection, nullptr)->result;
  }

  // Synchronous reads of this loop's replica, for tests and tools.
  std::optional<OnlineUser> find(std::string_view name) const;
  std::size_t onlineCount() const { return replica_.size(); }
  std::size_t onlineNameBytes() const { return nameBytes_; }
  std::optional<std::size_t> rankOf(std::string_view name) const;
  // Views valid until the loop yields.
  std::vector<std::string_view> onlineNamesFrom(std::size_t first, std::size_t count) const;
  std::vector<std::string_view> onlineNamesSorted() const {
    return onlineNamesFrom(0, onlineCount());
  }
  // Queues one frame for the connection at `route` (this process only).
  SendResult sendTo(const Route& route, std::string_view frame);
  void act(const Route& route, SessionAction action);

  // Thread-safe counters, for tests and logs (a later /metrics exports them).
  // Frames this loop shed because the queue towards another loop was full.
  std::uint64_t shedFrames() const { return shedFrames_.load(std::memory_order_relaxed); }
  std::uint64_t shedBytes() const { return shedBytes_.load(std::memory_order_relaxed); }
  // Names this loop released early for a reconnect because their old peer was gone.
  std::uint64_t ownerGoneReleases() const {
    return ownerGoneReleases_.load(std::memory_order_relaxed);
  }
  // Bytes this loop has in flight towards loop `target`.
  std::size_t queuedBytesTowards(std::uint32_t target) const;

 private:
  // Frames bound for one other loop, gathered during one iteration.
  struct Batch {
    struct Item {
      net::ConnectionId connection;  // recipient, or the excluded sender for a broadcast
      std::uint32_t offset;
      std::uint32_t length;
      bool broadcast;
    };
    std::string bytes;
    std::vector<Item> items;
    std::size_t cost() const { return bytes.size() + items.size() * sizeof(Item); }
    void add(net::ConnectionId connection, std::string_view frame, bool broadcast);
  };
  void applyJoin(const std::string& name, net::ConnectionId connection);
  void applyLeave(const std::string& name, net::ConnectionId connection);
  void eraseFromReplica(std::unordered_map<std::string, net::ConnectionId, protocol::NameHash,
                                           protocol::NameEqual>::iterator entry);
  // Appends to the batch for `target` unless that would pass this loop's share of the
  // target's queue; false (and counted) if shed.
  bool enqueue(std::uint32_t target, net::ConnectionId connection, std::string_view frame,
               bool broadcast);
  void deliverBatch(const Batch& batch);
  void postBatches();

  net::EventLoop& loop_;
  std::uint32_t loopIndex_;
  NameRegistry& registry_;
  LocalDelivery& delivery_;
  LocalHubOptions options_;
  std::size_t sharePerPeer_ = 0;  // 0: no bound
  std::vector<LocalHub*> peers_;  // indexed by loop; peers_[loopIndex_] == this
  std::vector<Batch> outgoing_;   // indexed by target loop
  // Bytes handed to each target loop and not yet delivered there; decremented by the
  // target's thread.
  std::unique_ptr<std::atomic<std::size_t>[]> inFlight_;
  std::unordered_map<std::string, net::ConnectionId, protocol::NameHash, protocol::NameEqual>
      replica_;
  NameIndex index_;  // points to replica_'s keys
  std::size_t nameBytes_ = 0;
  std::atomic<std::uint64_t> shedFrames_{0};
  std::atomic<std::uint64_t> shedBytes_{0};
  std::atomic<std::uint64_t> ownerGoneReleases_{0};
  std::string frame_;  // a direct message's frame, reused so that a DM does not allocate
};

}  // namespace classchat::server
