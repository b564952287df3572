#include "hub/name_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

namespace classchat::server {
namespace {

TEST(NameRegistry, ClaimsAFreeNameOnce) {
  NameRegistry registry;
  EXPECT_EQ(registry.size(), 0u);
  EXPECT_TRUE(registry.claim("alice", 1));
  EXPECT_FALSE(registry.claim("alice", 2));
  EXPECT_FALSE(registry.claim("alice", 1));  // even by its holder
  EXPECT_TRUE(registry.claim("bob", 2));
  EXPECT_EQ(registry.size(), 2u);
}

TEST(NameRegistry, IgnoresAsciiCase) {
  NameRegistry registry;
  EXPECT_TRUE(registry.claim("Bob", 1));
  EXPECT_FALSE(registry.claim("bob", 2));
  EXPECT_FALSE(registry.claim("BOB", 3));
  registry.release("bOb", 1);  // released by its holder under another spelling
  EXPECT_EQ(registry.size(), 0u);
  EXPECT_TRUE(registry.claim("bob", 2));
}

TEST(NameRegistry, ReleaseFreesTheNameForOthers) {
  NameRegistry registry;
  ASSERT_TRUE(registry.claim("alice", 1));
  registry.release("alice", 1);
  EXPECT_EQ(registry.size(), 0u);
  EXPECT_TRUE(registry.claim("alice", 2));
}

TEST(NameRegistry, ReleaseByANonOwnerIsIgnored) {
  NameRegistry registry;
  ASSERT_TRUE(registry.claim("alice", 1));
  registry.release("alice", 2);
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_FALSE(registry.claim("alice", 3));
  registry.release("nobody", 1);  // unknown names too
  EXPECT_EQ(registry.size(), 1u);
}

TEST(NameRegistry, StaleReleaseDoesNotFreeANewOwner) {
  NameRegistry registry;
  ASSERT_TRUE(registry.claim("alice", 1));
  registry.release("alice", 1);
  ASSERT_TRUE(registry.claim("alice", 2));
  registry.release("alice", 1);  // the old connection's late release
  EXPECT_FALSE(registry.claim("alice", 3));
}

TEST(NameRegistry, ConcurrentClaimsOfOneNameHaveExactlyOneWinner) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  NameRegistry registry;
  for (int round = 0; round < kRounds; ++round) {
    const std::string name = (round % 2 ? "Name" : "name") + std::to_string(round);
    std::latch start(kThreads);
    std::atomic<int> winners{0};
    std::atomic<net::ConnectionId> winner{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        // Each thread uses its own spelling of the same name.
        std::string spelling = name;
        if (t % 2) spelling[0] = static_cast<char>(spelling[0] ^ 0x20);
        const net::ConnectionId id = static_cast<net::ConnectionId>(round * kThreads + t + 1);
        start.arrive_and_wait();
        if (registry.claim(spelling, id)) {
          ++winners;
          winner = id;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    ASSERT_EQ(winners.load(), 1) << name;
    // Only the winner can free it.
    registry.release(name, winner.load() + 1000000);
    ASSERT_FALSE(registry.claim(name, 0));
  }
  EXPECT_EQ(registry.size(), static_cast<std::size_t>(kRounds));
}

TEST(NameRegistry, ConcurrentClaimsAndReleasesOfDistinctNamesAllSucceed) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  NameRegistry registry;
  std::latch start(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        const std::string name = "t" + std::to_string(t) + "_" + std::to_string(i);
        const net::ConnectionId id = static_cast<net::ConnectionId>(t * kPerThread + i + 1);
        if (!registry.claim(name, id)) ++failures;
        if (i % 2) registry.release(name, id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(registry.size(), static_cast<std::size_t>(kThreads * kPerThread / 2));
}

}  // namespace
}  // namespace classchat::server
