#include "bench/occupancy_check.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace classchat::bench {
namespace {

TEST(BenchOccupancyCheck, AloneIsNobody) {
  std::vector<std::string> others{"stale"};
  std::size_t count = 7;
  ASSERT_TRUE(parseUserList("You are the only active user!", "Bot_check", others, count));
  EXPECT_TRUE(others.empty());
  EXPECT_EQ(count, 0u);
}

TEST(BenchOccupancyCheck, ReadsClasschatdsList) {
  std::vector<std::string> others;
  std::size_t count = 0;
  ASSERT_TRUE(parseUserList("Online users (2): alice, bob", "Bot_check", others, count));
  EXPECT_EQ(others, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(count, 2u);
}

TEST(BenchOccupancyCheck, APagedListCountsEveryone) {
  std::vector<std::string> others;
  std::size_t count = 0;
  ASSERT_TRUE(parseUserList(
      "Online users (2500): aaron, abby (page 1/31, 2498 more; send /list with msg 2 for the "
      "next page)",
      "Bot_check", others, count));
  EXPECT_EQ(others, (std::vector<std::string>{"aaron", "abby"}));
  EXPECT_EQ(count, 2500u);
}

// A server that lists the asker too (and counts it), with or without a count.
TEST(BenchOccupancyCheck, TheProbeItselfDoesNotCount) {
  std::vector<std::string> others;
  std::size_t count = 0;
  ASSERT_TRUE(parseUserList("Online users (1): Bot_check", "Bot_check", others, count));
  EXPECT_TRUE(others.empty());
  EXPECT_EQ(count, 0u);
  ASSERT_TRUE(parseUserList("Online users: Bot_check, alice.", "Bot_check", others, count));
  EXPECT_EQ(others, (std::vector<std::string>{"alice"}));
  EXPECT_EQ(count, 1u);
}

TEST(BenchOccupancyCheck, AnythingElseIsUnreadable) {
  std::vector<std::string> others;
  std::size_t count = 0;
  EXPECT_FALSE(parseUserList("Error: unknown command /list", "Bot_check", others, count));
  EXPECT_FALSE(parseUserList("Online users (x): a", "Bot_check", others, count));
  EXPECT_FALSE(parseUserList("alice, bob", "Bot_check", others, count));
}

}  // namespace
}  // namespace classchat::bench
