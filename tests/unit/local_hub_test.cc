#include "server/local_hub.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "protocol/names.h"
#include "server/name_registry.h"

namespace classchat::server {
namespace {

// Connection ids carry their loop index in the low 8 bits.
net::ConnectionId connectionOn(std::uint32_t loop, std::uint64_t sequence) {
  return (sequence << 8) | loop;
}

// Records what a hub hands to its loop's connections. Used only on that loop's thread.
class RecordingDelivery final : public LocalDelivery {
 public:
  struct Delivery {
    net::ConnectionId connection;  // recipient, or the excluded sender for a broadcast
    std::string frame;
    bool broadcast;
    std::uint64_t iteration;
  };

  explicit RecordingDelivery(net::EventLoop& loop) : loop_(loop) {}

  void deliverLocal(net::ConnectionId connection, std::string_view frame) override {
    record(connection, frame, false);
  }
  void deliverToAllLocal(std::string_view frame, net::ConnectionId except) override {
    record(except, frame, true);
  }
  void actLocal(net::ConnectionId connection, const SessionAction& action) override {
    record(connection, "act:" + action.notice, false);
  }
  void actOnAddressLocal(std::string_view address, const SessionAction& action) override {
    record(0, "address:" + std::string(address) + ":" + action.notice, true);
  }

  std::vector<Delivery> deliveries;
  bool wrongThread = false;

 private:
  void record(net::ConnectionId connection, std::string_view frame, bool broadcast) {
    if (!loop_.isInLoopThread()) wrongThread = true;
    deliveries.push_back({connection, std::string(frame), broadcast, loop_.iterations()});
  }
  net::EventLoop& loop_;
};

// Two loops, each with a LocalHub, sharing one registry; the loops run on their own threads.
class LocalHubTest : public ::testing::Test {
 protected:
  LocalHubTest() {
    hubs_[0]->connectPeers({hubs_[0].get(), hubs_[1].get()});
    hubs_[1]->connectPeers({hubs_[0].get(), hubs_[1].get()});
    for (auto& loop : loops_) threads_.emplace_back([&loop] { loop.run(); });
  }
  ~LocalHubTest() override {
    for (auto& loop : loops_) loop.quit();
    for (auto& thread : threads_) thread.join();
  }

  // Runs `f(hub, delivery)` on loop `index` and returns its result.
  template <typename F>
  auto on(std::uint32_t index, F f) {
    using Result = decltype(f(*hubs_[index], *deliveries_[index]));
    std::packaged_task<Result()> task([&] { return f(*hubs_[index], *deliveries_[index]); });
    auto result = task.get_future();
    loops_[index].post([&task] { task(); });
    return result.get();
  }

  // Returns once loop `index` has finished the iteration it is in, so that whatever that
  // iteration handed to other loops (posted at its end) is already queued there.
  void finishIteration(std::uint32_t index) {
    on(index, [](LocalHub&, RecordingDelivery&) { return 0; });
  }

  std::vector<RecordingDelivery::Delivery> deliveredOn(std::uint32_t index) {
    return on(index, [](LocalHub&, RecordingDelivery& delivery) {
      EXPECT_FALSE(delivery.wrongThread);
      return delivery.deliveries;
    });
  }

  NameRegistry registry_;
  net::EventLoop loops_[2];
  RecordingDelivery delivery0_{loops_[0]};
  RecordingDelivery delivery1_{loops_[1]};
  RecordingDelivery* deliveries_[2] = {&delivery0_, &delivery1_};
  std::unique_ptr<LocalHub> hubs_[2] = {
      std::make_unique<LocalHub>(loops_[0], 0, registry_, delivery0_),
      std::make_unique<LocalHub>(loops_[1], 1, registry_, delivery1_)};
  std::vector<std::thread> threads_;
};

TEST_F(LocalHubTest, ClaimIsSeenAtOnceLocallyAndAfterThePostedUpdateElsewhere) {
  const net::ConnectionId alice = connectionOn(0, 1);
  const auto local = on(0, [&](LocalHub& hub, RecordingDelivery&) {
    const ClaimResult result = hub.claim("Alice", alice);
    return std::make_pair(result, hub.find("alice"));
  });
  EXPECT_EQ(local.first, ClaimResult::kClaimed);
  ASSERT_TRUE(local.second);
  EXPECT_EQ(local.second->connection, alice);

  // The join was posted to loop 1 before this lookup, so it has been applied.
  const auto remote = on(1, [](LocalHub& hub, RecordingDelivery&) {
    const auto user = hub.find("ALICE");
    return std::make_tuple(user.has_value(), user ? std::string(user->name) : "",
                           user ? user->connection : 0, hub.onlineCount());
  });
  EXPECT_TRUE(std::get<0>(remote));
  EXPECT_EQ(std::get<1>(remote), "Alice");  // the registered spelling
  EXPECT_EQ(std::get<2>(remote), alice);
  EXPECT_EQ(std::get<3>(remote), 1u);
}

TEST_F(LocalHubTest, NameTakenOnOneLoopIsRefusedOnTheOther) {
  ASSERT_EQ(
      on(0, [](LocalHub& hub, RecordingDelivery&) { return hub.claim("bob", connectionOn(0, 1)); }),
      ClaimResult::kClaimed);
  EXPECT_EQ(
      on(1, [](LocalHub& hub, RecordingDelivery&) { return hub.claim("BOB", connectionOn(1, 1)); }),
      ClaimResult::kTaken);
  EXPECT_EQ(registry_.size(), 1u);
}

TEST_F(LocalHubTest, ReleaseFreesTheNameEverywhere) {
  const net::ConnectionId first = connectionOn(0, 1);
  on(0, [&](LocalHub& hub, RecordingDelivery&) { return hub.claim("carol", first); });
  on(0, [&](LocalHub& hub, RecordingDelivery&) {
    hub.release("carol", first);
    return 0;
  });
  EXPECT_FALSE(
      on(1, [](LocalHub& hub, RecordingDelivery&) { return hub.find("carol").has_value(); }));
  // The name is free again, now from loop 1, and loop 0 learns of the new owner.
  const net::ConnectionId second = connectionOn(1, 1);
  EXPECT_EQ(on(1, [&](LocalHub& hub, RecordingDelivery&) { return hub.claim("Carol", second); }),
            ClaimResult::kClaimed);
  const auto owner = on(0, [](LocalHub& hub, RecordingDelivery&) {
    const auto user = hub.find("carol");
    return user ? user->connection : 0;
  });
  EXPECT_EQ(owner, second);
}

TEST_F(LocalHubTest, StaleReleaseDoesNotRemoveTheNewOwner) {
  const net::ConnectionId old = connectionOn(0, 1);
  const net::ConnectionId fresh = connectionOn(1, 2);
  on(0, [&](LocalHub& hub, RecordingDelivery&) { return hub.claim("dave", old); });
  on(0, [&](LocalHub& hub, RecordingDelivery&) {
    hub.release("dave", old);
    return 0;
  });
  on(1, [&](LocalHub& hub, RecordingDelivery&) { return hub.claim("dave", fresh); });
  // A second, late release from the old connection must not touch the new owner.
  on(0, [&](LocalHub& hub, RecordingDelivery&) {
    hub.release("dave", old);
    return 0;
  });
  for (std::uint32_t loop : {0u, 1u}) {
    const auto owner = on(loop, [](LocalHub& hub, RecordingDelivery&) {
      const auto user = hub.find("dave");
      return user ? user->connection : 0;
    });
    EXPECT_EQ(owner, fresh) << "loop " << loop;
  }
  EXPECT_EQ(registry_.size(), 1u);
}

TEST_F(LocalHubTest, NamesFromBothLoopsAreListedInOrderEverywhere) {
  on(0, [](LocalHub& hub, RecordingDelivery&) {
    hub.claim("zed", connectionOn(0, 1));
    hub.claim("Bob", connectionOn(0, 2));
    return 0;
  });
  on(1, [](LocalHub& hub, RecordingDelivery&) {
    hub.claim("alice", connectionOn(1, 1));
    hub.claim("carol", connectionOn(1, 2));
    return 0;
  });
  for (std::uint32_t loop : {0u, 1u}) {
    const auto names = on(loop, [](LocalHub& hub, RecordingDelivery&) {
      std::vector<std::string> copy;
      for (std::string_view name : hub.onlineNamesSorted()) copy.emplace_back(name);
      return copy;
    });
    EXPECT_EQ(names, (std::vector<std::string>{"alice", "Bob", "carol", "zed"})) << loop;
  }
}

TEST_F(LocalHubTest, FirstOnlineNamesAreTheSortedPrefix) {
  on(0, [](LocalHub& hub, RecordingDelivery&) {
    for (std::string name : {"zed", "Bob", "alice", "carol", "Dave"}) {
      hub.claim(name, connectionOn(0, static_cast<std::uint32_t>(name.size() + name[0])));
    }
    return 0;
  });
  const auto first = [&](std::size_t limit) {
    return on(0, [&](LocalHub& hub, RecordingDelivery&) {
      std::vector<std::string> copy;
      for (std::string_view name : hub.firstOnlineNames(limit)) copy.emplace_back(name);
      return copy;
    });
  };
  EXPECT_EQ(first(3), (std::vector<std::string>{"alice", "Bob", "carol"}));
  EXPECT_EQ(first(0), std::vector<std::string>{});
  EXPECT_EQ(first(99), (std::vector<std::string>{"alice", "Bob", "carol", "Dave", "zed"}));
}

TEST_F(LocalHubTest, FirstOnlineNamesStayRightThroughJoinsAndLeaves) {
  // Random joins and leaves on both loops (so loop 0 also sees the other loop's, posted),
  // including the first names leaving and a name rejoining in another case: after each
  // batch, the kept first names on loop 0 must equal the head of the full sorted list.
  std::mt19937 random(7);
  std::vector<std::pair<std::string, net::ConnectionId>> online;
  std::uint64_t sequence = 1;
  for (int round = 0; round < 60; ++round) {
    for (int change = 0; change < 20; ++change) {
      const std::uint32_t loop = random() % 2;
      if (!online.empty() && random() % 3 == 0) {
        const std::size_t victim = random() % online.size();
        // Leaves favour the smallest names, the case the cache has to rebuild for.
        const std::size_t index = random() % 2 == 0 ? 0 : victim;
        const auto [name, connection] = online[index];
        on(net::loopIndexOf(connection), [&](LocalHub& hub, RecordingDelivery&) {
          hub.release(name, connection);
          return 0;
        });
        online.erase(online.begin() + static_cast<std::ptrdiff_t>(index));
      } else {
        std::string name = "u" + std::to_string(random() % 500);
        if (random() % 2 == 0) name[0] = 'U';
        const net::ConnectionId connection = connectionOn(loop, sequence++);
        const bool claimed = on(loop, [&](LocalHub& hub, RecordingDelivery&) {
          return hub.claim(name, connection) == ClaimResult::kClaimed;
        });
        if (claimed) online.emplace_back(name, connection);
      }
      std::sort(online.begin(), online.end(),
                [](const auto& a, const auto& b) { return protocol::nameLess(a.first, b.first); });
    }
    finishIteration(1);
    finishIteration(0);
    const auto [first, sorted] = on(0, [](LocalHub& hub, RecordingDelivery&) {
      std::vector<std::string> firstCopy, sortedCopy;
      for (std::string_view name : hub.firstOnlineNames(11)) firstCopy.emplace_back(name);
      for (std::string_view name : hub.onlineNamesSorted()) sortedCopy.emplace_back(name);
      return std::make_pair(firstCopy, sortedCopy);
    });
    ASSERT_EQ(sorted.size(), online.size()) << round;
    const std::vector<std::string> head(
        sorted.begin(), sorted.begin() + std::min<std::ptrdiff_t>(11, sorted.size()));
    ASSERT_EQ(first, head) << round;
  }
}

TEST_F(LocalHubTest, SendToALocalConnectionIsDeliveredAtOnce) {
  const net::ConnectionId bob = connectionOn(0, 7);
  const auto delivered = on(0, [&](LocalHub& hub, RecordingDelivery& delivery) {
    hub.sendTo(OnlineUser{"bob", bob}, "frame\n");
    return delivery.deliveries.size();
  });
  EXPECT_EQ(delivered, 1u);
  const auto onZero = deliveredOn(0);
  ASSERT_EQ(onZero.size(), 1u);
  EXPECT_EQ(onZero[0].connection, bob);
  EXPECT_EQ(onZero[0].frame, "frame\n");
  EXPECT_FALSE(onZero[0].broadcast);
  EXPECT_TRUE(deliveredOn(1).empty());
}

TEST_F(LocalHubTest, SendToTheOtherLoopArrivesThereInOrderInOneBatch) {
  const net::ConnectionId bob = connectionOn(1, 3);
  constexpr int kFrames = 500;
  on(0, [&](LocalHub& hub, RecordingDelivery&) {
    for (int i = 0; i < kFrames; ++i) hub.sendTo(OnlineUser{"bob", bob}, "m" + std::to_string(i));
    return 0;
  });
  finishIteration(0);
  EXPECT_TRUE(deliveredOn(0).empty());
  const auto onOne = deliveredOn(1);
  ASSERT_EQ(onOne.size(), static_cast<std::size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) {
    EXPECT_EQ(onOne[i].connection, bob);
    EXPECT_EQ(onOne[i].frame, "m" + std::to_string(i));
    EXPECT_FALSE(onOne[i].broadcast);
  }
  // Frames sent during one iteration travel as one hand-off: loop 1 runs them together.
  EXPECT_EQ(onOne.front().iteration, onOne.back().iteration);
}

TEST_F(LocalHubTest, OrderHoldsAcrossIterations) {
  const net::ConnectionId bob = connectionOn(1, 3);
  for (int batch = 0; batch < 20; ++batch) {
    on(0, [&](LocalHub& hub, RecordingDelivery&) {
      for (int i = 0; i < 10; ++i) {
        hub.sendTo(OnlineUser{"bob", bob}, std::to_string(batch * 10 + i));
      }
      return 0;
    });
  }
  finishIteration(0);
  const auto onOne = deliveredOn(1);
  ASSERT_EQ(onOne.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(onOne[i].frame, std::to_string(i));
}

TEST_F(LocalHubTest, BroadcastReachesBothLoopsExceptTheSender) {
  const net::ConnectionId sender = connectionOn(0, 1);
  on(0, [&](LocalHub& hub, RecordingDelivery&) {
    hub.broadcast("shout\n", sender);
    return 0;
  });
  finishIteration(0);
  for (std::uint32_t loop : {0u, 1u}) {
    const auto delivered = deliveredOn(loop);
    ASSERT_EQ(delivered.size(), 1u) << "loop " << loop;
    EXPECT_TRUE(delivered[0].broadcast);
    EXPECT_EQ(delivered[0].connection, sender) << "the sender is excluded on loop " << loop;
    EXPECT_EQ(delivered[0].frame, "shout\n");
  }
}

TEST_F(LocalHubTest, DirectMessagesAndBroadcastsKeepTheirRelativeOrder) {
  const net::ConnectionId sender = connectionOn(0, 1);
  const net::ConnectionId bob = connectionOn(1, 2);
  on(0, [&](LocalHub& hub, RecordingDelivery&) {
    hub.sendTo(OnlineUser{"bob", bob}, "1");
    hub.broadcast("2", sender);
    hub.sendTo(OnlineUser{"bob", bob}, "3");
    return 0;
  });
  finishIteration(0);
  const auto onOne = deliveredOn(1);
  ASSERT_EQ(onOne.size(), 3u);
  EXPECT_EQ(onOne[0].frame, "1");
  EXPECT_EQ(onOne[1].frame, "2");
  EXPECT_TRUE(onOne[1].broadcast);
  EXPECT_EQ(onOne[2].frame, "3");
}

}  // namespace
}  // namespace classchat::server
