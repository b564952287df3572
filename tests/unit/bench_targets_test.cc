#include "bench/targets.h"

#include <gtest/gtest.h>

#include <map>

namespace classchat::bench {
namespace {

std::vector<std::string> names(const std::vector<Target>& targets) {
  std::vector<std::string> out;
  for (const Target& target : targets) out.push_back(target.toString());
  return out;
}

TEST(BenchTargets, SplitListTakesEveryItemAndRefusesEmptyOnes) {
  std::vector<std::string> items;
  ASSERT_TRUE(splitList("7001", items));
  EXPECT_EQ(items, std::vector<std::string>{"7001"});
  ASSERT_TRUE(splitList("a,b,c", items));
  EXPECT_EQ(items, (std::vector<std::string>{"a", "b", "c"}));
  for (const char* bad : {"", ",", "a,", ",a", "a,,b"}) {
    EXPECT_FALSE(splitList(bad, items)) << bad;
  }
}

TEST(BenchTargets, ASingleHostAndPortIsOneTargetAsBefore) {
  std::vector<Target> targets;
  ASSERT_EQ(parseTargets("127.0.0.1", "65432", targets), "");
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].host, "127.0.0.1");
  EXPECT_EQ(targets[0].port, 65432);
  EXPECT_EQ(targets[0].address.family(), AF_INET);
  EXPECT_TRUE(targets[0].address.isLoopback());
}

TEST(BenchTargets, APortListWithOneHostRepeatsTheHost) {
  std::vector<Target> targets;
  ASSERT_EQ(parseTargets("127.0.0.1", "7001,7002,7003", targets), "");
  EXPECT_EQ(names(targets),
            (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"}));
}

TEST(BenchTargets, AHostListWithOnePortRepeatsThePort) {
  std::vector<Target> targets;
  ASSERT_EQ(parseTargets("127.0.0.1,::1", "7001", targets), "");
  EXPECT_EQ(names(targets), (std::vector<std::string>{"127.0.0.1:7001", "[::1]:7001"}));
  EXPECT_EQ(targets[1].address.family(), AF_INET6);
}

TEST(BenchTargets, TwoListsArePairedInOrder) {
  std::vector<Target> targets;
  ASSERT_EQ(parseTargets("127.0.0.1,127.0.0.2", "7001,7002", targets), "");
  EXPECT_EQ(names(targets), (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.2:7002"}));
}

TEST(BenchTargets, ListsOfDifferentLengthsAreRefused) {
  std::vector<Target> targets;
  const std::string error = parseTargets("127.0.0.1,::1", "1,2,3", targets);
  EXPECT_NE(error.find("paired"), std::string::npos) << error;
  EXPECT_TRUE(targets.empty());
}

TEST(BenchTargets, BadEntriesAreNamed) {
  std::vector<Target> targets;
  EXPECT_NE(parseTargets("127.0.0.1", "7001,x", targets).find("'x' is not a port"),
            std::string::npos);
  EXPECT_NE(parseTargets("127.0.0.1", "65536", targets).find("not a port"), std::string::npos);
  EXPECT_NE(parseTargets("127.0.0.1", "-1", targets).find("not a port"), std::string::npos);
  EXPECT_NE(parseTargets("127.0.0.1", "7001,,7002", targets).find("empty entry"),
            std::string::npos);
  EXPECT_NE(parseTargets("127.0.0.1,localhost", "7001", targets).find("--host localhost"),
            std::string::npos);
  EXPECT_TRUE(targets.empty());
}

TEST(BenchTargets, RoundRobinSpreadsEvenlyAndSeparatesNeighbours) {
  EXPECT_EQ(targetOf(5, 1), 0u);
  EXPECT_EQ(targetOf(5, 0), 0u);
  for (std::size_t count = 2; count <= 5; ++count) {
    std::map<std::size_t, int> perTarget;
    for (std::uint64_t i = 0; i < 10 * count; ++i) {
      ++perTarget[targetOf(i, count)];
      // A direct-message pair (2k, 2k+1), or any two consecutive clients: two targets.
      EXPECT_NE(targetOf(i, count), targetOf(i + 1, count));
    }
    ASSERT_EQ(perTarget.size(), count);
    for (const auto& [target, clients] : perTarget) EXPECT_EQ(clients, 10) << target;
  }
}

TEST(BenchTargets, DescribeListsEveryTarget) {
  std::vector<Target> targets;
  ASSERT_EQ(parseTargets("::1", "1,2", targets), "");
  EXPECT_EQ(describeTargets(targets), "[::1]:1, [::1]:2");
}

}  // namespace
}  // namespace classchat::bench
