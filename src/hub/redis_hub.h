// The Hub of one loop of a cluster node: the node-local LocalHub plus the shared directory in
// Redis.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hub/hub.h"
#include "hub/local_hub.h"
#include "hub/redis_connection.h"
#include "hub/redis_script.h"
#include "net/event_loop.h"

namespace classchat::hub {

class ClusterNode;

// Wraps this loop's LocalHub, which keeps the node-local directory and every fast path (a
// DM to a user of this node never touches Redis), and adds the cluster on its own
// RedisConnection (see ARCHITECTURE.md, "Cluster mode"):
//   - claim: the LocalHub first (the node's own sessions), then claim.lua, whose answer
//     carries the welcome page; a refusal undoes the local claim. Without a lease (starting,
//     fenced) or a link, claims are refused at once as unavailable.
//   - release: the LocalHub at once; release.lua for all of this iteration's releases.
//   - readStats / readNames: stats.lua.
//   - sendDirect to a user elsewhere: appended to this iteration's route batch, sent as ONE
//     route.lua at the end of the iteration (a before-sleep hook); the names it did not find
//     come back through LocalDelivery::directFailed as "not found".
//   - broadcast: the LocalHub at once, and this iteration's shouts in one shout.lua.
//   - actOnName elsewhere: act.lua (a record of kind `a` in the owner's inbox);
//     actOnAddress: the LocalHub and an `addr` message on the control channel.
//   - checkOwnerGone: the LocalHub's (an owner on another node is asked nothing: `then`
//     runs later and the retried claim tells).
//
// Thread-safety: like every Hub, only on its loop's thread (constructed and destroyed while
// the loop does not run), except the counters.
class RedisHub final : public server::Hub {
 public:
  RedisHub(net::EventLoop& loop, std::uint32_t loopIndex, std::unique_ptr<server::LocalHub> local,
           server::LocalDelivery& delivery, ClusterNode& node);
  ~RedisHub() override;

  server::LocalHub& local() { return *local_; }

  std::optional<server::ClaimOutcome> claim(std::string_view name, net::ConnectionId connection,
                                            server::ClaimDone done) override;
  void release(std::string_view name, net::ConnectionId connection) override;
  void checkOwnerGone(std::string_view name, std::function<void()> then) override;
  std::optional<server::DirectoryStats> readStats(std::string_view self,
                                                  server::StatsDone done) override;
  std::optional<server::DirectoryPage> readNames(std::size_t first, std::size_t count,
                                                 server::PageDone done) override;
  server::DirectOutcome sendDirect(const server::DirectMessage& message) override;
  server::SendResult broadcast(std::string_view frame, net::ConnectionId except) override;
  std::optional<server::ActOutcome> actOnName(std::string_view name, server::SessionAction action,
                                              server::ActDone done) override;
  void actOnAddress(std::string address, server::SessionAction action) override;

  // ClusterNode, on this loop: re-asserts the names of this loop's sessions under `epoch`
  // (reassert.lua in chunks), disconnects those another node holds, then calls done(ok).
  void reassert(std::uint64_t epoch, std::function<void(bool ok)> done);

  // Thread-safe: whether this loop's link to Redis is up (a moment old).
  bool linkUp() const { return linkUp_.load(std::memory_order_acquire); }

  // Thread-safe counters for tests and /metrics.
  std::uint64_t routeCalls() const { return routeCalls_.load(std::memory_order_relaxed); }
  std::uint64_t remoteDirectOut() const { return remoteDirectOut_.load(std::memory_order_relaxed); }
  std::uint64_t shedToRedis() const { return shedToRedis_.load(std::memory_order_relaxed); }

  // The welcome page from claim.lua's answer {"claimed", online, s1..sk} (the claimant left
  // out): the claimant inserted in nameLess order, cut to kClaimPageNames. Pure.
  static server::DirectoryPage welcomeFromClaim(const RedisReply& reply, std::string_view spelling);

 private:
  struct Held {
    std::string spelling;
    net::ConnectionId connection;
  };
  // Direct messages gathered for this iteration's route.lua, grouped by recipient: one
  // (name, envelope) pair per recipient, its envelope the pieces "<sender> <ip> <length>\n
  // <msg>" of all its messages in the order they were sent, so Redis looks each recipient up
  // once per iteration however many messages it gets.
  struct RouteBatch {
    std::string bytes;  // per message: lower(to), its piece, `to` as written, back to back
    struct Item {
      std::uint32_t lowerOffset, lowerLength, pieceLength, toLength, group;
      net::ConnectionId sender;
    };
    std::vector<Item> items;
    struct Hash {
      using is_transparent = void;
      std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> groups;
    // Built at the flush: item indexes by group (each group in sending order), and the
    // groups' envelopes back to back.
    std::vector<std::uint32_t> order, groupStart, envelopeStart;
    std::string envelopes;
  };
  bool redisUp() const;
  bool useLocal(std::string_view name) const;
  bool overBudget(std::size_t more) const;
  void undoClaim(const std::string& lower, std::string_view spelling, net::ConnectionId connection,
                 bool releaseInRedis);
  void flush();
  void flushReleases();
  void flushRoutes();
  void flushShouts();
  void reassertChunk(std::uint64_t epoch, std::shared_ptr<std::vector<Held>> all, std::size_t from,
                     std::function<void(bool)> done);

  net::EventLoop& loop_;
  std::uint32_t loopIndex_;
  std::unique_ptr<server::LocalHub> local_;
  server::LocalDelivery& delivery_;
  ClusterNode& node_;
  RedisScript claimScript_, releaseScript_, routeScript_, shoutScript_, statsScript_, actScript_,
      reassertScript_;
  // The names claimed through this loop (answered or not), by lower-case form: what a
  // re-assertion re-claims.
  std::unordered_map<std::string, Held> held_;
  std::vector<std::string> releases_;  // pairs: lower, connection id (decimal)
  RouteBatch routes_;
  std::string shouts_;  // "<length>\n<frame>" per shout of this iteration
  std::string scratch_;
  bool closing_ = false;
  std::atomic<bool> linkUp_{false};
  std::atomic<std::uint64_t> routeCalls_{0};
  std::atomic<std::uint64_t> remoteDirectOut_{0};
  std::atomic<std::uint64_t> shedToRedis_{0};
  // Last member: destroyed first, so its failing callbacks still find the rest whole.
  std::unique_ptr<RedisConnection> redis_;
};

}  // namespace classchat::hub
