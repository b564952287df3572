// RedisHub and ClusterNode beyond the Hub contract (hub_contract_test.cc): the records a node
// receives, batching (one route.lua per loop iteration), fencing, and two nodes in one
// process. Each test runs a private redis-server.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "hub/cluster_node.h"
#include "hub/local_hub.h"
#include "hub/name_registry.h"
#include "hub/redis_hub.h"
#include "net/event_loop.h"
#include "redis_test_server.h"

namespace classchat::hub {
namespace {

using server::ClaimResult;

constexpr auto kPatience = std::chrono::seconds(10);

// Records what the hub hands to the loop's sessions. Used only on the loop's thread.
class Recorder final : public server::LocalDelivery {
 public:
  struct Record {
    std::string kind;
    net::ConnectionId connection;
    std::string text;
  };
  void deliverLocal(net::ConnectionId connection, std::string_view frame) override {
    records.push_back({"dm", connection, std::string(frame)});
  }
  void deliverToAllLocal(std::string_view frame, net::ConnectionId except) override {
    records.push_back({"all", except, std::string(frame)});
  }
  void actLocal(net::ConnectionId connection, const server::SessionAction& action) override {
    records.push_back({"act", connection, action.notice});
  }
  void actOnAddressLocal(std::string_view address, const server::SessionAction& action) override {
    records.push_back({"address", 0, std::string(address) + ":" + action.notice});
  }
  bool releaseIfPeerGone(net::ConnectionId) override { return false; }
  void directFailed(net::ConnectionId sender, std::string_view to,
                    server::DirectStatus why) override {
    records.push_back(
        {"failed", sender,
         std::string(to) + (why == server::DirectStatus::kNotFound ? ":not found" : ":other")});
  }
  std::vector<Record> records;
};

// One node of one loop (loop index 0) on the given Redis.
class Node {
 public:
  Node(std::uint16_t redisPort, bool alwaysRemote, std::string nodeId = "",
       std::size_t maxInFlightBytes = 32u << 20) {
    ClusterOptions options;
    options.maxInFlightBytes = maxInFlightBytes;
    options.endpoint.port = redisPort;
    options.lease = std::chrono::milliseconds(2000);
    options.alwaysRemote = alwaysRemote;
    options.nodeId = std::move(nodeId);
    cluster = std::make_unique<ClusterNode>(options);
    auto local = std::make_unique<server::LocalHub>(loop, 0, registry, recorder);
    server::LocalHub* raw = local.get();
    hub = std::make_unique<RedisHub>(loop, 0, std::move(local), recorder, *cluster);
    raw->connectPeers({raw});
    cluster->addHub(0, loop, hub.get());
    cluster->start();
    thread = std::thread([this] { loop.run(); });
    EXPECT_TRUE(cluster->waitForLease(kPatience));
  }
  ~Node() {
    loop.quit();
    thread.join();
    cluster.reset();
    hub.reset();
  }

  template <typename F>
  auto on(F f) {
    std::packaged_task<decltype(f())()> task(f);
    auto result = task.get_future();
    loop.post([&task] { task(); });
    return result.get();
  }
  ClaimResult claim(const std::string& name, net::ConnectionId connection) {
    auto promise = std::make_shared<std::promise<ClaimResult>>();
    auto future = promise->get_future();
    loop.post([&, promise, name, connection] {
      auto now = hub->claim(name, connection, [promise](server::ClaimOutcome outcome) {
        promise->set_value(outcome.result);
      });
      if (now) promise->set_value(now->result);
    });
    EXPECT_EQ(future.wait_for(kPatience), std::future_status::ready);
    return future.get();
  }
  std::vector<Recorder::Record> records() {
    return on([this] { return recorder.records; });
  }
  template <typename P>
  bool eventually(P predicate) {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (std::chrono::steady_clock::now() < deadline) {
      if (predicate()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  net::EventLoop loop;
  Recorder recorder;
  server::NameRegistry registry;
  std::unique_ptr<ClusterNode> cluster;
  std::unique_ptr<RedisHub> hub;
  std::thread thread;
};

TEST(ClusterNodeRecords, ActionsRoundTrip) {
  server::SessionAction action{server::SessionAction::Kind::kMute, "you are muted\nfor now",
                               "teacher said so",
                               std::chrono::system_clock::time_point(std::chrono::seconds(1700))};
  server::SessionAction back;
  ASSERT_TRUE(ClusterNode::decodeAction(ClusterNode::encodeAction(action), back));
  EXPECT_EQ(back.kind, action.kind);
  EXPECT_EQ(back.notice, action.notice);
  EXPECT_EQ(back.logReason, action.logReason);
  EXPECT_EQ(back.until, action.until);
  EXPECT_FALSE(ClusterNode::decodeAction("1 0 99\nshort", back));
  EXPECT_FALSE(ClusterNode::decodeAction("7 0 0\n", back));  // no such kind
}

class RedisHubTest : public ::testing::Test {
 protected:
  testing::RedisServerProcess redis_;
};

TEST_F(RedisHubTest, InboxRecordsBecomeFramesWithTheRecipientsSpelling) {
  Node node(redis_.port(), false);
  const std::string msg = "hello \"you\"";
  const std::string envelope = "alice 10.0.0.1 " + std::to_string(msg.size()) + "\n" + msg;
  constexpr net::ConnectionId kBob = 7u << 9;  // on loop 0
  const std::string record =
      "m " + std::to_string(kBob) + " Bob " + std::to_string(envelope.size()) + "\n" + envelope;
  node.on([&] {
    node.cluster->handleMessage(node.cluster->keys().inbox, record + record);
    // Truncated: counted, nothing delivered.
    node.cluster->handleMessage(node.cluster->keys().inbox, "m 77 Bob 500\nshort");
    return 0;
  });
  const auto got = node.records();
  ASSERT_EQ(got.size(), 2u);
  for (const auto& r : got) {
    EXPECT_EQ(r.kind, "dm");
    EXPECT_EQ(r.connection, kBob);
    EXPECT_EQ(r.text,
              "{\"from\":{\"name\":\"alice\",\"ip\":\"10.0.0.1\"},\"to\":\"Bob\",\"msg\":\"hello "
              "\\\"you\\\"\"}\n");
  }
  EXPECT_EQ(node.cluster->counters().badRecords.load(), 1u);
}

// Whatever arrives on the node's channels is parsed defensively: each malformed record is
// counted and dropped, nothing is delivered from it, and a good record after it still is.
TEST_F(RedisHubTest, GarbageOnEveryChannelIsCountedAndDroppedAndLaterRecordsStillWork) {
  Node node(redis_.port(), false);
  constexpr net::ConnectionId kBob = 7u << 9;  // on loop 0
  const ClusterKeys& keys = node.cluster->keys();
  const std::vector<std::pair<std::string, std::string>> garbage = {
      {keys.inbox, "x"},                               // no fields at all
      {keys.inbox, "m abc Bob 3\nabc"},                // connection not a number
      {keys.inbox, "m 7 Bob 99999999999999999999\n"},  // length past the payload
      {keys.inbox, "z 7 Bob 1\nx"},                    // unknown record kind
      {keys.inbox, "a 7 Bob 3\nabc"},                  // an action that does not decode
      {keys.inbox, "m 7 Bob 6\nab 1\nx"},              // an envelope piece without its ip
      {keys.shout, "no origin line"},                  // shout payload without its origin
      {keys.shout, "other\nabc\nx"},                   // shout length not a number
      {keys.shout, "other\n999\nshort"},               // shout length past the payload
      {keys.control, "addr x 99\nab"},                 // address length past the payload
      {keys.control, "addr other 3\nabc9 x"},          // an address action that does not decode
  };
  const std::string envelope = "alice 10.0.0.1 2\nhi";
  const std::string good =
      "m " + std::to_string(kBob) + " Bob " + std::to_string(envelope.size()) + "\n" + envelope;
  node.on([&] {
    for (const auto& [channel, payload] : garbage) node.cluster->handleMessage(channel, payload);
    node.cluster->handleMessage(keys.inbox, good);
    return 0;
  });
  const auto got = node.records();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].connection, kBob);
  EXPECT_EQ(got[0].text,
            "{\"from\":{\"name\":\"alice\",\"ip\":\"10.0.0.1\"},\"to\":\"Bob\",\"msg\":\"hi\"}\n");
  EXPECT_EQ(node.cluster->counters().badRecords.load(), garbage.size());
}

TEST_F(RedisHubTest, ShoutsFromThisNodeAreSkippedAndOthersDeliveredToAll) {
  Node node(redis_.port(), false);
  node.on([&] {
    const std::string frame = "shout\n";
    node.cluster->handleMessage(node.cluster->keys().shout,
                                node.cluster->keys().node + "\n6\n" + frame);
    node.cluster->handleMessage(node.cluster->keys().shout, "abc\n6\n" + frame + "6\n" + frame);
    return 0;
  });
  const auto got = node.records();
  ASSERT_EQ(got.size(), 2u);
  for (const auto& r : got) {
    EXPECT_EQ(r.kind, "all");
    EXPECT_EQ(r.text, "shout\n");
  }
}

TEST_F(RedisHubTest, DirectMessagesOfOneIterationAreOneRouteCallGroupedByRecipient) {
  Node node(redis_.port(), true);  // through Redis although the recipients are on this node
  constexpr net::ConnectionId kAlice = (1u << 9), kBob = (2u << 9), kCarol = (3u << 9);
  ASSERT_EQ(node.claim("alice", kAlice), ClaimResult::kClaimed);
  ASSERT_EQ(node.claim("Bob", kBob), ClaimResult::kClaimed);
  ASSERT_EQ(node.claim("carol", kCarol), ClaimResult::kClaimed);
  constexpr int kMessages = 500;  // to each of bob and carol, interleaved
  node.on([&] {
    for (int i = 0; i < kMessages; ++i) {
      const std::string text = std::to_string(i);
      EXPECT_EQ(node.hub->sendDirect({"bob", "alice", "10.0.0.1", text, kAlice}).status,
                server::DirectStatus::kSent);
      EXPECT_EQ(node.hub->sendDirect({"CAROL", "Bob", "10.0.0.2", text, kBob}).status,
                server::DirectStatus::kSent);
      if (i % 250 == 0) {  // two messages to nobody, from two senders
        EXPECT_EQ(
            node.hub->sendDirect({"nobody", "alice", "10.0.0.1", "x", i ? kBob : kAlice}).status,
            server::DirectStatus::kSent);
      }
    }
    return 0;
  });
  ASSERT_TRUE(node.eventually([&] { return node.records().size() >= 2 * kMessages + 2; }));
  EXPECT_EQ(node.hub->routeCalls(), 1u);
  EXPECT_EQ(node.hub->remoteDirectOut(), static_cast<std::uint64_t>(2 * kMessages + 2));
  int toBob = 0, toCarol = 0;
  std::vector<net::ConnectionId> told;
  for (const auto& r : node.records()) {
    if (r.kind == "failed") {
      EXPECT_EQ(r.text, "nobody:not found");
      told.push_back(r.connection);
      continue;
    }
    ASSERT_EQ(r.kind, "dm");
    if (r.connection == kBob) {
      EXPECT_NE(r.text.find("\"to\":\"Bob\",\"msg\":\"" + std::to_string(toBob++) + "\""),
                std::string::npos);
    } else {
      ASSERT_EQ(r.connection, kCarol);
      EXPECT_NE(r.text.find("{\"name\":\"Bob\",\"ip\":\"10.0.0.2\"},\"to\":\"carol\",\"msg\":\"" +
                            std::to_string(toCarol++) + "\""),
                std::string::npos);
    }
  }
  EXPECT_EQ(toBob, kMessages);
  EXPECT_EQ(toCarol, kMessages);
  EXPECT_EQ(told, (std::vector<net::ConnectionId>{kAlice, kBob}));
}

TEST_F(RedisHubTest, PastItsBoundOnTheWayToRedisALoopShedsAndSaysSo) {
  Node node(redis_.port(), true, "", 4500);
  constexpr net::ConnectionId kAlice = (1u << 9), kBob = (2u << 9);
  ASSERT_EQ(node.claim("alice", kAlice), ClaimResult::kClaimed);
  ASSERT_EQ(node.claim("bob", kBob), ClaimResult::kClaimed);
  const std::string big(1000, 'x');
  const auto outcomes = node.on([&] {
    std::vector<server::DirectStatus> statuses;
    for (int i = 0; i < 6; ++i) {
      statuses.push_back(node.hub->sendDirect({"bob", "alice", "10.0.0.1", big, kAlice}).status);
    }
    statuses.push_back(node.hub->broadcast(big + big, kAlice) == server::SendResult::kShed
                           ? server::DirectStatus::kShed
                           : server::DirectStatus::kSent);
    return statuses;
  });
  // Three fit in 4,500 bytes (each about 1 KiB, counted twice: batch and envelope); the
  // rest, and the 2 KiB shout, are shed.
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), server::DirectStatus::kSent), 3);
  EXPECT_EQ(outcomes.back(), server::DirectStatus::kShed);
  EXPECT_EQ(node.hub->shedToRedis(), 4u);
  // What was accepted is delivered.
  EXPECT_TRUE(node.eventually([&] { return node.records().size() >= 4; }));  // 3 DMs, 1 local shout
}

TEST_F(RedisHubTest, AFencedNodeReassertsItsNamesAndDropsTheOnesTakenMeanwhile) {
  Node node(redis_.port(), false, "aaaa");
  constexpr net::ConnectionId kKept = (1u << 9), kLost = (2u << 9);
  ASSERT_EQ(node.claim("Kept", kKept), ClaimResult::kClaimed);
  ASSERT_EQ(node.claim("Lost", kLost), ClaimResult::kClaimed);
  // As if the node had been paused past its lease: the lease is gone, the janitor freed
  // the names, and another node claimed one of them.
  redis_.command({"DEL", "classchat:lease:aaaa"});
  redis_.command({"HSET", "classchat:names", "lost", "bbbb 99 5 LOST"});
  node.cluster->requestLeaseCheck();
  ASSERT_TRUE(node.eventually([&] { return node.cluster->counters().takenWhileFenced == 1; }));
  const auto got = node.records();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, "act");
  EXPECT_EQ(got[0].connection, kLost);
  EXPECT_EQ(got[0].text.rfind("Error: ", 0), 0u) << got[0].text;
  EXPECT_EQ(node.cluster->counters().fenced.load(), 1u);
  EXPECT_GE(node.cluster->counters().leaseAcquired.load(), 2u);
  // The kept name is re-asserted under the new epoch; the taken one is left to its owner.
  const std::string epoch = std::to_string(node.cluster->epoch());
  EXPECT_TRUE(node.eventually([&] {
    return redis_.command({"HGET", "classchat:names", "kept"}) ==
           "aaaa " + epoch + " " + std::to_string(kKept) + " Kept";
  }));
  EXPECT_EQ(redis_.command({"HGET", "classchat:names", "lost"}), "bbbb 99 5 LOST");
  EXPECT_TRUE(node.eventually([&] { return node.cluster->leaseFresh(); }));
}

TEST_F(RedisHubTest, TwoNodesShareNamesAndReachEachOthersUsers) {
  Node a(redis_.port(), false);
  Node b(redis_.port(), false);
  constexpr net::ConnectionId kAlice = (1u << 9), kBob = (1u << 9);  // same id, other node
  ASSERT_EQ(a.claim("alice", kAlice), ClaimResult::kClaimed);
  EXPECT_EQ(b.claim("ALICE", kBob), ClaimResult::kTaken);
  ASSERT_EQ(b.claim("Bob", kBob), ClaimResult::kClaimed);
  b.on([&] {
    EXPECT_EQ(b.hub->sendDirect({"Alice", "Bob", "10.0.0.2", "hi", kBob}).status,
              server::DirectStatus::kSent);
    return 0;
  });
  ASSERT_TRUE(a.eventually([&] { return !a.records().empty(); }));
  const auto got = a.records();
  EXPECT_EQ(got[0].kind, "dm");
  EXPECT_EQ(got[0].connection, kAlice);
  EXPECT_EQ(got[0].text,
            "{\"from\":{\"name\":\"Bob\",\"ip\":\"10.0.0.2\"},\"to\":\"alice\",\"msg\":\"hi\"}\n");
  // A shout from b reaches a's users, and b's own loop delivers it at once.
  b.on([&] { return b.hub->broadcast("shout\n", kBob); });
  ASSERT_TRUE(a.eventually([&] { return a.records().size() >= 2; }));
  EXPECT_EQ(a.records()[1].kind, "all");
  // Stopping a drops its lease: b's janitor frees alice at once, not after the lease.
  a.cluster->stop(std::chrono::seconds(2));
  EXPECT_TRUE(b.eventually([&] {
    return redis_.command({"HEXISTS", "classchat:names", "alice"}) == ":0";
  }));
}

}  // namespace
}  // namespace classchat::hub
