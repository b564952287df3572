#include "hub/local_hub.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hub/name_registry.h"
#include "net/event_loop.h"
#include "protocol/names.h"

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
  void directFailed(net::ConnectionId sender, std::string_view to, DirectStatus) override {
    record(sender, "failed:" + std::string(to), false);
  }
  bool releaseIfPeerGone(net::ConnectionId connection) override {
    if (!loop_.isInLoopThread()) wrongThread = true;
    ownerChecks.push_back(connection);
    return peersGone;
  }

  std::vector<net::ConnectionId> ownerChecks;
  bool peersGone = false;

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
  explicit LocalHubTest(LocalHubOptions options = {}) {
    hubs_[0] = std::make_unique<LocalHub>(loops_[0], 0, registry_, delivery0_, options);
    hubs_[1] = std::make_unique<LocalHub>(loops_[1], 1, registry_, delivery1_, options);
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
  std::unique_ptr<LocalHub> hubs_[2];
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
  EXPECT_EQ(local.second->route.connection, alice);

  // The join was posted to loop 1 before this lookup, so it has been applied.
  const auto remote = on(1, [](LocalHub& hub, RecordingDelivery&) {
    const auto user = hub.find("ALICE");
    return std::make_tuple(user.has_value(), user ? std::string(user->name) : "",
                           user ? user->route.connection : 0, hub.onlineCount());
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
    return user ? user->route.connection : 0;
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
      return user ? user->route.connection : 0;
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
      for (std::string_view name : hub.onlineNamesFrom(0, limit)) copy.emplace_back(name);
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
        std::string name = "u";  // appended: "u" + string trips GCC 12's -Wrestrict at -O3
        name += std::to_string(random() % 500);
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
      for (std::string_view name : hub.onlineNamesFrom(0, 11)) firstCopy.emplace_back(name);
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
    hub.sendTo(Route{kThisNode, bob}, "frame\n");
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
    for (int i = 0; i < kFrames; ++i) {
      std::string frame = "m";
      frame += std::to_string(i);
      hub.sendTo(Route{kThisNode, bob}, frame);
    }
    return 0;
  });
  finishIteration(0);
  EXPECT_TRUE(deliveredOn(0).empty());
  const auto onOne = deliveredOn(1);
  ASSERT_EQ(onOne.size(), static_cast<std::size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) {
    EXPECT_EQ(onOne[i].connection, bob);
    EXPECT_EQ(onOne[i].frame, std::string("m") += std::to_string(i));
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
        hub.sendTo(Route{kThisNode, bob}, std::to_string(batch * 10 + i));
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
    hub.sendTo(Route{kThisNode, bob}, "1");
    hub.broadcast("2", sender);
    hub.sendTo(Route{kThisNode, bob}, "3");
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

TEST_F(LocalHubTest, NamesFromARankArePagesOfTheSortedList) {
  std::vector<std::string> expected;
  on(0, [&](LocalHub& hub, RecordingDelivery&) {
    for (int i = 0; i < 200; ++i) {
      std::string name(1, i % 2 == 0 ? 'u' : 'U');
      name += std::to_string(1000 + (i * 37) % 200);
      hub.claim(name, connectionOn(0, static_cast<std::uint64_t>(i + 1)));
      expected.push_back(name);
    }
    return 0;
  });
  std::sort(expected.begin(), expected.end(), protocol::nameLess);
  const auto fetch = [&](std::size_t first, std::size_t count) {
    return on(0, [&](LocalHub& hub, RecordingDelivery&) {
      std::vector<std::string> copy;
      for (std::string_view name : hub.onlineNamesFrom(first, count)) copy.emplace_back(name);
      return copy;
    });
  };
  EXPECT_EQ(fetch(0, 3), std::vector<std::string>(expected.begin(), expected.begin() + 3));
  EXPECT_EQ(fetch(50, 25), std::vector<std::string>(expected.begin() + 50, expected.begin() + 75));
  EXPECT_EQ(fetch(190, 25), std::vector<std::string>(expected.begin() + 190, expected.end()));
  EXPECT_TRUE(fetch(200, 5).empty());
  const auto [rank, missing, bytes] = on(0, [&](LocalHub& hub, RecordingDelivery&) {
    return std::make_tuple(hub.rankOf(expected[123]), hub.rankOf("nobody"), hub.onlineNameBytes());
  });
  EXPECT_EQ(rank, std::optional<std::size_t>(123));
  EXPECT_FALSE(missing);
  EXPECT_EQ(bytes, 200u * 5u);
}

TEST_F(LocalHubTest, TakenNameIsCheckedOnTheOwnersLoopAndTheAnswerComesLater) {
  const net::ConnectionId owner = connectionOn(1, 9);
  on(1, [&](LocalHub& hub, RecordingDelivery&) { return hub.claim("erin", owner); });
  for (const bool gone : {false, true}) {
    on(1, [&](LocalHub&, RecordingDelivery& delivery) {
      delivery.peersGone = gone;
      return 0;
    });
    std::promise<bool> answered;
    const bool ranInside = on(0, [&](LocalHub& hub, RecordingDelivery&) {
      bool ran = false;
      hub.checkOwnerGone("ERIN", [&] {
        ran = true;
        answered.set_value(loops_[0].isInLoopThread());
      });
      return ran;
    });
    EXPECT_FALSE(ranInside) << "the continuation must not run inside the call";
    EXPECT_TRUE(answered.get_future().get()) << "the continuation runs on the asking loop";
    const auto checks = on(1, [](LocalHub&, RecordingDelivery& delivery) {
      EXPECT_FALSE(delivery.wrongThread);
      return delivery.ownerChecks;
    });
    ASSERT_FALSE(checks.empty());
    EXPECT_EQ(checks.back(), owner);
    EXPECT_EQ(hubs_[1]->ownerGoneReleases(), gone ? 1u : 0u);
  }
}

TEST_F(LocalHubTest, CheckOfAFreeNameAnswersWithoutAskingAnyone) {
  std::promise<void> answered;
  on(0, [&](LocalHub& hub, RecordingDelivery&) {
    hub.checkOwnerGone("nobody", [&] { answered.set_value(); });
    return 0;
  });
  answered.get_future().get();
  EXPECT_TRUE(on(1, [](LocalHub&, RecordingDelivery& d) { return d.ownerChecks.empty(); }));
}

// A hub whose loops may have at most 4 KiB in flight towards each other.
class SmallQueueLocalHubTest : public LocalHubTest {
 protected:
  SmallQueueLocalHubTest() : LocalHubTest(LocalHubOptions{4096}) {}
};

TEST_F(SmallQueueLocalHubTest, FramesPastTheBoundAreShedAndCountedWhileTheTargetIsStalled) {
  // Loop 1 is deliberately stalled: it runs a task that waits until the test lets it go.
  std::promise<void> letGo;
  std::shared_future<void> goSignal = letGo.get_future().share();
  std::promise<void> stalled;
  loops_[1].post([&stalled, goSignal] {
    stalled.set_value();
    goSignal.wait();
  });
  stalled.get_future().wait();

  const net::ConnectionId bob = connectionOn(1, 3);
  const std::string pad(90, 'x');
  std::vector<bool> queued;
  for (int round = 0; round < 20; ++round) {
    on(0, [&](LocalHub& hub, RecordingDelivery&) {
      for (int i = 0; i < 10; ++i) {
        const std::string frame = std::to_string(round * 10 + i) + pad;
        queued.push_back(hub.sendTo(Route{kThisNode, bob}, frame) == SendResult::kQueued);
      }
      return 0;
    });
  }
  finishIteration(0);
  const auto accepted = static_cast<std::size_t>(std::count(queued.begin(), queued.end(), true));
  EXPECT_GT(accepted, 0u);
  EXPECT_LT(accepted, queued.size());
  // Once full, the queue stays full while loop 1 is stalled: what was accepted is a prefix.
  EXPECT_TRUE(std::is_partitioned(queued.begin(), queued.end(), [](bool q) { return q; }));
  EXPECT_EQ(hubs_[0]->shedFrames(), queued.size() - accepted);
  EXPECT_LE(hubs_[0]->queuedBytesTowards(1), 4096u);
  EXPECT_LE(loops_[1].pendingBytes(), 4096u);
  EXPECT_GT(loops_[1].pendingBytes(), 0u);

  letGo.set_value();
  const auto onOne = deliveredOn(1);
  ASSERT_EQ(onOne.size(), accepted);
  for (std::size_t i = 0; i < accepted; ++i) EXPECT_EQ(onOne[i].frame, std::to_string(i) + pad);
  EXPECT_EQ(hubs_[0]->queuedBytesTowards(1), 0u);
  // With the target caught up, frames flow again.
  EXPECT_EQ(on(0,
               [&](LocalHub& hub, RecordingDelivery&) {
                 return hub.sendTo(Route{kThisNode, bob}, "again");
               }),
            SendResult::kQueued);
}

TEST_F(SmallQueueLocalHubTest, BroadcastPastTheBoundIsShedForThatLoopButDeliveredLocally) {
  std::promise<void> letGo;
  std::shared_future<void> goSignal = letGo.get_future().share();
  std::promise<void> stalled;
  loops_[1].post([&stalled, goSignal] {
    stalled.set_value();
    goSignal.wait();
  });
  stalled.get_future().wait();
  const std::string big(5000, 's');  // larger than the whole share
  const auto [result, localDeliveries] = on(0, [&](LocalHub& hub, RecordingDelivery& delivery) {
    const SendResult r = hub.broadcast(big, connectionOn(0, 1));
    return std::make_pair(r, delivery.deliveries.size());
  });
  EXPECT_EQ(result, SendResult::kShed);
  EXPECT_EQ(localDeliveries, 1u);
  EXPECT_EQ(hubs_[0]->shedFrames(), 1u);
  EXPECT_EQ(hubs_[0]->shedBytes(), big.size());
  letGo.set_value();
  EXPECT_TRUE(deliveredOn(1).empty());
}

}  // namespace
}  // namespace classchat::server
