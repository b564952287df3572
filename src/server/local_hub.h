// The in-process Hub: one per loop, sharing a NameRegistry.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/event_loop.h"
#include "server/hub.h"
#include "server/name_registry.h"

namespace classchat::server {

// Each loop's LocalHub keeps a replica of the directory (name -> connection), so lookups
// on the message path touch only loop-local memory. Joins and leaves are decided by the
// shared NameRegistry and then posted to every other loop's replica.
//
// Frames for connections on other loops are collected per target loop during an
// iteration and handed over in one posted batch at its end: one wake-up per target loop
// per iteration, however many messages. Frames from one sender to one recipient keep
// their order because they always travel the same loop-to-loop queue.
//
// Thread-safety: use a LocalHub only on its loop's thread, except where noted.
class LocalHub final : public Hub {
 public:
  LocalHub(net::EventLoop& loop, std::uint32_t loopIndex, NameRegistry& registry,
           LocalDelivery& delivery);

  // Wires the hubs of all loops together; call once on every hub before the loops run.
  void connectPeers(std::vector<LocalHub*> hubsByLoopIndex);

  ClaimResult claim(std::string_view name, net::ConnectionId connection) override;
  void release(std::string_view name, net::ConnectionId connection) override;
  void afterPendingCloses(std::function<void()> then) override;
  std::optional<OnlineUser> find(std::string_view name) const override;
  std::size_t onlineCount() const override { return replica_.size(); }
  std::vector<std::string_view> onlineNamesSorted() const override;
  std::vector<std::string_view> firstOnlineNames(std::size_t limit) const override;
  void sendTo(const OnlineUser& user, std::string_view frame) override;
  void broadcast(std::string_view frame, net::ConnectionId except) override;

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
    void add(net::ConnectionId connection, std::string_view frame, bool broadcast);
  };

  void applyJoin(const std::string& name, net::ConnectionId connection);
  void applyLeave(const std::string& name, net::ConnectionId connection);
  void deliverBatch(const Batch& batch);
  void postBatches();

  net::EventLoop& loop_;
  std::uint32_t loopIndex_;
  NameRegistry& registry_;
  LocalDelivery& delivery_;
  std::vector<LocalHub*> peers_;  // indexed by loop; peers_[loopIndex_] == this
  std::vector<Batch> outgoing_;   // indexed by target loop
  std::unordered_map<std::string, net::ConnectionId, protocol::NameHash, protocol::NameEqual>
      replica_;
};

}  // namespace classchat::server
