// The Hub contract: what every hub engine must do, as the chat logic relies on it. One
// suite, run against every engine through a "hub backend" fixture factory.
//
// Adding an engine (the Redis hub, for example): write a HubBackend whose makeHub() builds
// that engine's hub for one loop (each loop may stand for its own node: the suite only
// talks to hubs through the Hub interface), start what it needs (a private redis-server on
// a free port) in its constructor and stop it in its destructor, then add one line to the
// INSTANTIATE_TEST_SUITE_P at the bottom: {"RedisHub", [] { return makeRedisBackend(); }}.
// Nothing else changes. Answers may come inline or later; directory changes may reach the
// other loops later (the suite waits for them with eventually()).
//
// The suite checks on every answer that a "later" completion never runs inside the call
// that was given it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "hub/cluster_node.h"
#include "hub/hub.h"
#include "hub/local_hub.h"
#include "hub/name_registry.h"
#include "hub/redis_hub.h"
#include "net/event_loop.h"
#include "protocol/names.h"
#include "redis_test_server.h"

namespace classchat::server {
namespace {

// Connection ids carry their loop index in the low 8 bits.
net::ConnectionId connectionOn(std::uint32_t loop, std::uint64_t sequence) {
  return (sequence << 8) | loop;
}

// Records what a hub hands to its loop's connections. Used only on that loop's thread.
class RecordingDelivery final : public LocalDelivery {
 public:
  struct Record {
    std::string kind;              // "dm", "all", "act", "address", "failed"
    net::ConnectionId connection;  // recipient; the excluded sender for "all"
    std::string text;              // the frame, notice or name
  };

  explicit RecordingDelivery(net::EventLoop& loop) : loop_(loop) {}

  void deliverLocal(net::ConnectionId connection, std::string_view frame) override {
    record("dm", connection, frame);
  }
  void deliverToAllLocal(std::string_view frame, net::ConnectionId except) override {
    record("all", except, frame);
  }
  void actLocal(net::ConnectionId connection, const SessionAction& action) override {
    record("act", connection, action.notice);
  }
  void actOnAddressLocal(std::string_view address, const SessionAction& action) override {
    record("address", 0, std::string(address) + ":" + action.notice);
  }
  bool releaseIfPeerGone(net::ConnectionId) override { return false; }
  void directFailed(net::ConnectionId sender, std::string_view to, DirectStatus why) override {
    record("failed", sender,
           std::string(to) + (why == DirectStatus::kNotFound ? ":not found" : ""));
  }

  std::vector<Record> records;
  bool wrongThread = false;

 private:
  void record(std::string kind, net::ConnectionId connection, std::string_view text) {
    if (!loop_.isInLoopThread()) wrongThread = true;
    records.push_back({std::move(kind), connection, std::string(text)});
  }
  net::EventLoop& loop_;
};

// Builds one engine's hubs. Constructed and destroyed on the test thread.
class HubBackend {
 public:
  virtual ~HubBackend() = default;
  // The hub of loop `index`, before the loops run.
  virtual std::unique_ptr<Hub> makeHub(net::EventLoop& loop, std::uint32_t index,
                                       LocalDelivery& delivery) = 0;
  // Once every hub is built, before the loops run.
  virtual void wire() {}
  // Once the loops run (a cluster waits for its lease here).
  virtual void running() {}
};

class LocalBackend final : public HubBackend {
 public:
  std::unique_ptr<Hub> makeHub(net::EventLoop& loop, std::uint32_t index,
                               LocalDelivery& delivery) override {
    auto hub = std::make_unique<LocalHub>(loop, index, registry_, delivery);
    hubs_.push_back(hub.get());
    return hub;
  }
  void wire() override {
    for (LocalHub* hub : hubs_) hub->connectPeers(hubs_);
  }

 private:
  NameRegistry registry_;
  std::vector<LocalHub*> hubs_;
};

// One cluster node whose loops are the suite's loops, on a private redis-server. With
// alwaysRemote, DMs and acts by name go through Redis (route.lua, act.lua, the node's inbox)
// although every user is on this node, so the suite covers the cross-node paths.
class RedisBackend final : public HubBackend {
 public:
  RedisBackend() {
    EXPECT_TRUE(redis_.running());
    hub::ClusterOptions options;
    options.endpoint.port = redis_.port();
    options.lease = std::chrono::milliseconds(3000);
    options.alwaysRemote = true;
    node_ = std::make_unique<hub::ClusterNode>(options);
  }
  std::unique_ptr<Hub> makeHub(net::EventLoop& loop, std::uint32_t index,
                               LocalDelivery& delivery) override {
    auto local = std::make_unique<LocalHub>(loop, index, registry_, delivery);
    locals_.push_back(local.get());
    auto hub = std::make_unique<hub::RedisHub>(loop, index, std::move(local), delivery, *node_);
    node_->addHub(index, loop, hub.get());
    return hub;
  }
  void wire() override {
    for (LocalHub* hub : locals_) hub->connectPeers(locals_);
    node_->start();
  }
  void running() override { ASSERT_TRUE(node_->waitForLease(std::chrono::seconds(10))); }

 private:
  hub::testing::RedisServerProcess redis_;
  NameRegistry registry_;
  std::vector<LocalHub*> locals_;
  std::unique_ptr<hub::ClusterNode> node_;
};

struct BackendParam {
  std::string name;
  std::function<std::unique_ptr<HubBackend>()> make;
};

constexpr std::uint32_t kLoops = 3;
constexpr auto kPatience = std::chrono::seconds(10);

class HubContract : public ::testing::TestWithParam<BackendParam> {
 protected:
  HubContract() : backend_(GetParam().make()) {
    for (std::uint32_t i = 0; i < kLoops; ++i) {
      loops_.push_back(std::make_unique<net::EventLoop>());
      deliveries_.push_back(std::make_unique<RecordingDelivery>(*loops_[i]));
    }
    for (std::uint32_t i = 0; i < kLoops; ++i) {
      hubs_.push_back(backend_->makeHub(*loops_[i], i, *deliveries_[i]));
    }
    backend_->wire();
    for (auto& loop : loops_) threads_.emplace_back([loop = loop.get()] { loop->run(); });
    backend_->running();
  }
  ~HubContract() override {
    for (auto& loop : loops_) loop->quit();
    for (auto& thread : threads_) thread.join();
    for (std::uint32_t i = 0; i < kLoops; ++i) EXPECT_FALSE(deliveries_[i]->wrongThread) << i;
    hubs_.clear();
    backend_.reset();
  }

  // Runs `f(hub, delivery)` on loop `index` and returns its result.
  template <typename F>
  auto on(std::uint32_t index, F f) {
    using Result = decltype(f(*hubs_[index], *deliveries_[index]));
    std::packaged_task<Result()> task([&] { return f(*hubs_[index], *deliveries_[index]); });
    auto result = task.get_future();
    loops_[index]->post([&task] { task(); });
    return result.get();
  }

  // Calls `call(hub, done)` on loop `index`, which answers inline (an optional with a
  // value) or later (nullopt, then `done`), and returns the answer either way. A `done`
  // run inside the call, or after an inline answer, fails the test.
  template <typename T, typename Call>
  T answer(std::uint32_t index, Call call) {
    auto promise = std::make_shared<std::promise<T>>();
    std::future<T> future = promise->get_future();
    auto inCall = std::make_shared<bool>(false);
    auto answered = std::make_shared<bool>(false);
    loops_[index]->post([&, promise, inCall, answered] {
      *inCall = true;
      std::optional<T> now = call(*hubs_[index], [promise, inCall, answered](T value) {
        EXPECT_FALSE(*inCall) << "a later completion ran inside the call";
        EXPECT_FALSE(*answered) << "answered twice";
        *answered = true;
        promise->set_value(std::move(value));
      });
      *inCall = false;
      if (now) {
        *answered = true;
        promise->set_value(std::move(*now));
      }
    });
    EXPECT_EQ(future.wait_for(kPatience), std::future_status::ready);
    return future.get();
  }

  ClaimResult claim(std::uint32_t index, std::string name, net::ConnectionId connection) {
    return answer<ClaimOutcome>(index,
                                [&](Hub& hub, ClaimDone done) {
                                  return hub.claim(name, connection, std::move(done));
                                })
        .result;
  }
  DirectoryStats stats(std::uint32_t index, std::string self = "") {
    return answer<DirectoryStats>(
        index, [&](Hub& hub, StatsDone done) { return hub.readStats(self, std::move(done)); });
  }
  DirectoryPage names(std::uint32_t index, std::size_t first, std::size_t count) {
    return answer<DirectoryPage>(index, [&](Hub& hub, PageDone done) {
      return hub.readNames(first, count, std::move(done));
    });
  }
  ActOutcome act(std::uint32_t index, std::string name, std::string notice) {
    return answer<ActOutcome>(index, [&](Hub& hub, ActDone done) {
      return hub.actOnName(name, SessionAction{SessionAction::Kind::kMute, notice, "test", {}},
                           std::move(done));
    });
  }
  void release(std::uint32_t index, std::string name, net::ConnectionId connection) {
    on(index, [&](Hub& hub, RecordingDelivery&) {
      hub.release(name, connection);
      return 0;
    });
  }

  // Polls `predicate` until it holds; false after kPatience.
  template <typename F>
  bool eventually(F predicate) {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (std::chrono::steady_clock::now() < deadline) {
      if (predicate()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }
  // Every loop sees `online` users.
  bool everyLoopSees(std::size_t online) {
    return eventually([&] {
      for (std::uint32_t i = 0; i < kLoops; ++i) {
        if (stats(i).online != online) return false;
      }
      return true;
    });
  }
  std::vector<RecordingDelivery::Record> records(std::uint32_t index) {
    return on(index, [](Hub&, RecordingDelivery& delivery) { return delivery.records; });
  }

  std::unique_ptr<HubBackend> backend_;
  std::vector<std::unique_ptr<net::EventLoop>> loops_;
  std::vector<std::unique_ptr<RecordingDelivery>> deliveries_;
  std::vector<std::unique_ptr<Hub>> hubs_;
  std::vector<std::thread> threads_;
};

TEST_P(HubContract, ClaimsAreUniqueIgnoringCase) {
  EXPECT_EQ(claim(0, "Alice", connectionOn(0, 1)), ClaimResult::kClaimed);
  EXPECT_EQ(claim(0, "alice", connectionOn(0, 2)), ClaimResult::kTaken);
  EXPECT_EQ(claim(1, "ALICE", connectionOn(1, 1)), ClaimResult::kTaken);
  EXPECT_EQ(claim(2, "Bob", connectionOn(2, 1)), ClaimResult::kClaimed);
  EXPECT_TRUE(everyLoopSees(2));
}

TEST_P(HubContract, TwoLoopsRacingForOneNameInDifferentCaseHaveExactlyOneWinner) {
  constexpr int kRounds = 300;
  for (int round = 0; round < kRounds; ++round) {
    const std::string upper = "Bob" + std::to_string(round);
    const std::string lower = "bOB" + std::to_string(round);
    const net::ConnectionId first = connectionOn(0, round + 1);
    const net::ConnectionId second = connectionOn(1, round + 1);
    std::atomic<int> ready{0};
    auto go = [&](std::uint32_t index, const std::string& name, net::ConnectionId connection) {
      return std::async(std::launch::async, [&, index, connection] {
        ready.fetch_add(1);
        while (ready.load() < 2) {
        }
        return claim(index, name, connection);
      });
    };
    auto a = go(0, upper, first);
    auto b = go(1, lower, second);
    const ClaimResult ra = a.get();
    const ClaimResult rb = b.get();
    ASSERT_EQ((ra == ClaimResult::kClaimed) + (rb == ClaimResult::kClaimed), 1)
        << "round " << round;
    ASSERT_EQ((ra == ClaimResult::kTaken) + (rb == ClaimResult::kTaken), 1) << "round " << round;
    if (ra == ClaimResult::kClaimed) {
      release(0, upper, first);
    } else {
      release(1, lower, second);
    }
  }
  EXPECT_TRUE(everyLoopSees(0));
}

TEST_P(HubContract, ReleaseFreesTheNameForAnotherLoop) {
  const net::ConnectionId first = connectionOn(0, 1);
  ASSERT_EQ(claim(0, "carol", first), ClaimResult::kClaimed);
  release(1, "carol", connectionOn(1, 9));  // not its holder: nothing happens
  EXPECT_EQ(claim(2, "Carol", connectionOn(2, 1)), ClaimResult::kTaken);
  release(0, "carol", first);
  EXPECT_TRUE(
      eventually([&] { return claim(1, "CAROL", connectionOn(1, 1)) == ClaimResult::kClaimed; }));
  EXPECT_TRUE(everyLoopSees(1));
}

TEST_P(HubContract, ClaimAnswerCarriesTheWelcomesFacts) {
  for (const char* name : {"dora", "Bea", "carl", "Emil"}) {
    ASSERT_EQ(claim(1, name, connectionOn(1, name[0])), ClaimResult::kClaimed);
  }
  ASSERT_TRUE(everyLoopSees(4));
  const ClaimOutcome outcome = answer<ClaimOutcome>(0, [](Hub& hub, ClaimDone done) {
    return hub.claim("Anna", connectionOn(0, 1), std::move(done));
  });
  ASSERT_EQ(outcome.result, ClaimResult::kClaimed);
  EXPECT_EQ(outcome.name, "Anna");
  EXPECT_EQ(outcome.welcome.online, 5u);  // the claimant included
  EXPECT_EQ(outcome.welcome.names,
            (std::vector<std::string>{"Anna", "Bea", "carl", "dora", "Emil"}));
}

TEST_P(HubContract, DirectMessagesArriveInOrderWithTheRecipientsSpelling) {
  const net::ConnectionId alice = connectionOn(0, 1);
  const net::ConnectionId bob = connectionOn(1, 1);
  const net::ConnectionId carol = connectionOn(0, 2);
  ASSERT_EQ(claim(0, "alice", alice), ClaimResult::kClaimed);
  ASSERT_EQ(claim(1, "Bob", bob), ClaimResult::kClaimed);
  ASSERT_EQ(claim(0, "carol", carol), ClaimResult::kClaimed);
  ASSERT_TRUE(everyLoopSees(3));
  constexpr int kMessages = 2000;
  for (int batch = 0; batch < 20; ++batch) {
    on(0, [&](Hub& hub, RecordingDelivery&) {
      for (int i = 0; i < kMessages / 20; ++i) {
        const std::string msg = std::to_string(batch * (kMessages / 20) + i);
        const DirectOutcome sent =
            hub.sendDirect(DirectMessage{"BOB", "alice", "10.0.0.1", msg, alice});
        EXPECT_EQ(sent.status, DirectStatus::kSent);
      }
      // One to a user of this same loop too.
      EXPECT_EQ(hub.sendDirect(DirectMessage{"Carol", "alice", "10.0.0.1", "local", alice}).status,
                DirectStatus::kSent);
      return 0;
    });
  }
  ASSERT_TRUE(eventually([&] { return records(1).size() >= static_cast<std::size_t>(kMessages); }));
  const auto onBob = records(1);
  ASSERT_EQ(onBob.size(), static_cast<std::size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) {
    EXPECT_EQ(onBob[i].kind, "dm");
    EXPECT_EQ(onBob[i].connection, bob);
    std::string expected =
        "{\"from\":{\"name\":\"alice\",\"ip\":\"10.0.0.1\"},\"to\":\"Bob\",\"msg\":\"" +
        std::to_string(i) + "\"}\n";
    ASSERT_EQ(onBob[i].text, expected) << "message " << i;
  }
  ASSERT_TRUE(eventually([&] { return records(0).size() >= 20; }));
  for (const auto& record : records(0)) {
    EXPECT_EQ(record.kind, "dm");
    EXPECT_EQ(record.connection, carol);
    EXPECT_NE(record.text.find("\"to\":\"carol\",\"msg\":\"local\""), std::string::npos);
  }
}

TEST_P(HubContract, DirectMessageToNobodyIsNotFound) {
  const net::ConnectionId alice = connectionOn(2, 1);
  ASSERT_EQ(claim(2, "alice", alice), ClaimResult::kClaimed);
  const DirectStatus status = on(2, [&](Hub& hub, RecordingDelivery&) {
    return hub.sendDirect(DirectMessage{"nobody", "alice", "10.0.0.1", "hi", alice}).status;
  });
  if (status == DirectStatus::kSent) {  // a hub that finds out later says so later
    ASSERT_TRUE(eventually([&] { return !records(2).empty(); }));
    const auto told = records(2);
    EXPECT_EQ(told[0].kind, "failed");
    EXPECT_EQ(told[0].connection, alice);
    EXPECT_EQ(told[0].text, "nobody:not found");
  } else {
    EXPECT_EQ(status, DirectStatus::kNotFound);
  }
  for (std::uint32_t i = 0; i < kLoops; ++i) {
    for (const auto& record : records(i)) EXPECT_NE(record.kind, "dm");
  }
}

TEST_P(HubContract, ShoutReachesEveryLoopButNotTheSenderAndIsCounted) {
  const net::ConnectionId alice = connectionOn(0, 1);
  ASSERT_EQ(claim(0, "alice", alice), ClaimResult::kClaimed);
  ASSERT_EQ(claim(1, "bob", connectionOn(1, 1)), ClaimResult::kClaimed);
  ASSERT_EQ(claim(2, "carol", connectionOn(2, 1)), ClaimResult::kClaimed);
  ASSERT_TRUE(everyLoopSees(3));
  const SendResult sent =
      on(0, [&](Hub& hub, RecordingDelivery&) { return hub.broadcast("shout\n", alice); });
  EXPECT_EQ(sent, SendResult::kQueued);
  for (std::uint32_t i = 0; i < kLoops; ++i) {
    ASSERT_TRUE(eventually([&] { return !records(i).empty(); })) << "loop " << i;
    const auto got = records(i);
    ASSERT_EQ(got.size(), 1u) << "loop " << i;
    EXPECT_EQ(got[0].kind, "all");
    EXPECT_EQ(got[0].connection, alice) << "the sender is excluded";
    EXPECT_EQ(got[0].text, "shout\n");
  }
  const DirectoryStats counted = stats(0, "ALICE");
  EXPECT_EQ(counted.online, 3u);
  ASSERT_TRUE(counted.selfRank);  // so "Message sent to 2 users"
  EXPECT_EQ(*counted.selfRank, 0u);
}

TEST_P(HubContract, ListStatsAndPagesFollowNameOrderOnEveryLoop) {
  std::vector<std::string> everyone;
  for (int i = 0; i < 40; ++i) {
    std::string name = (i % 3 == 0 ? "User" : "user") + std::to_string(100 + (i * 37) % 40);
    everyone.push_back(name);
    ASSERT_EQ(claim(i % kLoops, name, connectionOn(i % kLoops, i + 1)), ClaimResult::kClaimed);
  }
  std::sort(everyone.begin(), everyone.end(), protocol::nameLess);
  std::size_t bytes = 0;
  for (const std::string& name : everyone) bytes += name.size();
  ASSERT_TRUE(everyLoopSees(everyone.size()));
  for (std::uint32_t loop = 0; loop < kLoops; ++loop) {
    const DirectoryStats read = stats(loop, "USER" + everyone[7].substr(4));
    EXPECT_EQ(read.online, everyone.size());
    EXPECT_EQ(read.nameBytes, bytes);
    ASSERT_TRUE(read.selfRank);
    EXPECT_EQ(*read.selfRank, 7u);
    EXPECT_FALSE(stats(loop, "nobody").selfRank);
    for (std::size_t first : {0, 5, 33, 39}) {
      const DirectoryPage page = names(loop, first, 10);
      EXPECT_EQ(page.online, everyone.size());
      const std::vector<std::string> expected(
          everyone.begin() + static_cast<std::ptrdiff_t>(first),
          everyone.begin() + static_cast<std::ptrdiff_t>(std::min(first + 10, everyone.size())));
      EXPECT_EQ(page.names, expected) << "loop " << loop << " from " << first;
    }
    EXPECT_TRUE(names(loop, 40, 10).names.empty());
  }
}

TEST_P(HubContract, ActingOnANameReachesItsSessionOrSaysNotFound) {
  const net::ConnectionId bob = connectionOn(2, 1);
  ASSERT_EQ(claim(2, "Bob", bob), ClaimResult::kClaimed);
  ASSERT_TRUE(everyLoopSees(1));
  const ActOutcome found = act(0, "BOB", "muted");
  EXPECT_TRUE(found.found);
  EXPECT_EQ(found.name, "Bob");
  ASSERT_TRUE(eventually([&] { return !records(2).empty(); }));
  const auto onOwner = records(2);
  ASSERT_EQ(onOwner.size(), 1u);
  EXPECT_EQ(onOwner[0].kind, "act");
  EXPECT_EQ(onOwner[0].connection, bob);
  EXPECT_EQ(onOwner[0].text, "muted");

  const ActOutcome missing = act(1, "nobody", "muted");
  EXPECT_FALSE(missing.found);
  EXPECT_TRUE(records(0).empty());
  EXPECT_TRUE(records(1).empty());
}

TEST_P(HubContract, ActingOnAnAddressReachesEveryLoop) {
  on(1, [](Hub& hub, RecordingDelivery&) {
    hub.actOnAddress("10.0.0.9", SessionAction{SessionAction::Kind::kDisconnect, "bye", "ban", {}});
    return 0;
  });
  for (std::uint32_t i = 0; i < kLoops; ++i) {
    ASSERT_TRUE(eventually([&] { return !records(i).empty(); })) << "loop " << i;
    EXPECT_EQ(records(i)[0].text, "10.0.0.9:bye");
  }
}

std::string backendName(const ::testing::TestParamInfo<BackendParam>& param) {
  return param.param.name;
}

// One entry per engine; the Redis hub adds its own here.
INSTANTIATE_TEST_SUITE_P(
    Engines, HubContract,
    ::testing::Values(
        BackendParam{"LocalHub",
                     [] { return std::unique_ptr<HubBackend>(std::make_unique<LocalBackend>()); }},
        BackendParam{"RedisHub",
                     [] { return std::unique_ptr<HubBackend>(std::make_unique<RedisBackend>()); }}),
    backendName);

}  // namespace
}  // namespace classchat::server
