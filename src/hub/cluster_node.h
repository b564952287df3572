// One classchatd process's membership of a cluster: its node id, its lease, the janitor, and
// the subscription that brings other nodes' messages in.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "hub/hub.h"
#include "hub/redis_connection.h"
#include "hub/redis_options.h"
#include "hub/redis_script.h"
#include "hub/redis_subscriber.h"
#include "net/event_loop.h"

namespace classchat::hub {

class RedisHub;

struct ClusterOptions {
  RedisEndpoint endpoint;
  std::string prefix = "classchat:";  // every key and channel starts with it
  std::chrono::milliseconds lease{5000};
  std::string nodeId;  // hex; empty: a random 64-bit id
  // Tests only: direct messages and acts by name go through Redis even when the recipient
  // is on this node, so that one node with several loops exercises the cross-node paths.
  bool alwaysRemote = false;
  // Bytes of commands one loop may have on its way to Redis (pending on its connection plus
  // this iteration's batches); past it, direct messages and shouts are shed ("too busy").
  std::size_t maxInFlightBytes = 32u << 20;
  // What a session is told, and why it is closed, when a re-assertion finds that another
  // node took its name while this one was fenced (ChatServer sets the client's text).
  server::SessionAction takenWhileFenced{
      server::SessionAction::Kind::kDisconnect,
      "Error: your name was taken on another server while this one was cut off",
      "name taken on another node while this node was fenced",
      {}};
};

// Counters any thread may read (for /metrics and tests).
struct ClusterCounters {
  std::atomic<std::uint64_t> leaseAcquired{0};     // epochs acquired (the first included)
  std::atomic<std::uint64_t> fenced{0};            // times the lease was found lost
  std::atomic<std::uint64_t> reasserted{0};        // names re-asserted after a fence or cut
  std::atomic<std::uint64_t> takenWhileFenced{0};  // sessions dropped: their name went elsewhere
  std::atomic<std::uint64_t> swept{0};             // stale names of ours freed by sweep.lua
  std::atomic<std::uint64_t> janitorFreed{0};      // dead nodes' names this node freed
  std::atomic<std::uint64_t> subscriptionCuts{0};  // resubscriptions after a lost subscription
  std::atomic<std::uint64_t> remoteDirectIn{0};    // DM records received from the inbox
  std::atomic<std::uint64_t> remoteShoutsIn{0};    // other nodes' shouts delivered here
  std::atomic<std::uint64_t> badRecords{0};        // payloads that did not parse
};

// The node's Redis keys and channels, derived from the prefix and the node id.
struct ClusterKeys {
  ClusterKeys(std::string prefix, std::string nodeId);
  std::string prefix, node;
  std::string epoch, nodes, names, online, nameBytes, lease, nodeNames;
  std::string inbox, shout, control;
};

// Lives in ChatServer. Its Redis work (lease, janitor, subscriber, fan-out of what arrives)
// runs on the "home" loop, loop 0, with its own RedisConnection and RedisSubscriber; each
// loop's RedisHub reads epoch() and posts results back.
//
// Lease: acquired at start (lease.lua acquire -> epoch), renewed every min(1 s, lease / 3).
// A renewal answering 0 (the node was paused past its lease, Redis restarted or was
// flushed) fences the node: epoch() becomes 0 (new claims are refused as unavailable), a
// new epoch is acquired, every loop re-asserts the names of its sessions (reassert.lua),
// sessions whose name another node took meanwhile are disconnected with an Error, and
// sweep.lua frees what is left under older epochs. A failed round starts over with a new
// epoch at the next renewal tick.
//
// Thread-safety: the constructor, addHub(), start() and waitForLease() on the main thread;
// epoch(), counters() and keys() from any thread; the rest on the home loop.
class ClusterNode {
 public:
  explicit ClusterNode(ClusterOptions options);
  ~ClusterNode();
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // Each loop's hub, before start(). Loop 0 is the home loop.
  void addHub(std::uint32_t loopIndex, net::EventLoop& loop, RedisHub* hub);
  // Posts the start to the home loop (which may already run or start later).
  void start();
  // Blocks until the first lease is held; false after `timeout`.
  bool waitForLease(std::chrono::milliseconds timeout);
  // Stops the Redis work on the home loop, dropping the lease so that the janitors free the
  // names at once; call with the home loop still running. Waits at most `timeout`.
  void stop(std::chrono::milliseconds timeout);

  // The epoch claims are made under; 0 while the node holds no lease (starting, fenced).
  std::uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }
  const ClusterKeys& keys() const { return keys_; }
  const ClusterOptions& options() const { return options_; }
  ClusterCounters& counters() { return counters_; }
  const ClusterCounters& counters() const { return counters_; }

  // Home loop: parses and delivers one message of the node's subscription (public for
  // tests: records from the inbox, the shout channel, the control channel).
  void handleMessage(std::string_view channel, std::string_view payload);
  // Home loop: checks the lease now (after a reconnect, a cut subscription).
  void checkLease();
  // Thread-safe: has the home loop check the lease soon (a claim was answered "fenced").
  void requestLeaseCheck();
  // Thread-safe: whether this node surely still holds its lease and its names (renewed
  // within the lease, not fenced, not re-asserting). When not, a loop must not trust its
  // node-local directory (a node resumed from a pause past its lease may hold sessions whose
  // names are now someone else's): DMs and acts go through Redis, which knows.
  bool leaseFresh() const;

  // The action record carried by act.lua and the control channel (inverse functions).
  static std::string encodeAction(const server::SessionAction& action);
  static bool decodeAction(std::string_view bytes, server::SessionAction& action);

 private:
  struct Loop {
    net::EventLoop* loop = nullptr;
    RedisHub* hub = nullptr;
  };
  void startOnHome();
  void stopOnHome();
  void acquire();
  void fence(std::string_view why);
  void reassertAll(std::uint64_t epoch);
  void reasserted(std::uint64_t round, bool ok);
  void sweep(std::uint64_t epoch, std::string cursor);
  void runJanitor();
  void scheduleTicks();
  void deliverInbox(std::string_view payload);
  void deliverShouts(std::string_view payload);
  void deliverControl(std::string_view payload);
  void setLeaseHeld();
  void markFresh(std::chrono::steady_clock::time_point sentAt);

  ClusterOptions options_;
  ClusterKeys keys_;
  ClusterCounters counters_;
  RedisScript leaseScript_, janitorScript_, sweepScript_;
  std::vector<Loop> loops_;  // by loop index
  std::atomic<std::uint64_t> epoch_{0};
  std::atomic<std::int64_t> freshUntil_{0};  // steady_clock ticks
  // Home loop only.
  std::unique_ptr<RedisConnection> redis_;
  std::unique_ptr<RedisSubscriber> subscriber_;
  std::uint64_t heldEpoch_ = 0;  // the last epoch acquired (kept while fenced, for drop)
  bool leaseCallInFlight_ = false;
  bool janitorInFlight_ = false;
  bool reasserting_ = false;
  bool subscribedOnce_ = false;
  bool stopping_ = false;
  std::uint64_t round_ = 0;  // reassert rounds, so a stale answer is ignored
  std::size_t roundPending_ = 0;
  bool roundOk_ = true;
  std::chrono::steady_clock::time_point roundStartedAt_{};
  net::TimerId renewTimer_ = 0, janitorTimer_ = 0;
  std::string frame_;  // reused to build delivered frames
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // waitForLease / stop.
  std::mutex mutex_;
  std::condition_variable changed_;
  bool leaseHeldOnce_ = false;  // guarded by mutex_
  bool stopped_ = false;        // guarded by mutex_
};

}  // namespace classchat::hub
