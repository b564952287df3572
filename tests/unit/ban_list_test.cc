#include "server/ban_list.h"

#include <gtest/gtest.h>

namespace classchat::server {
namespace {

WallClock::time_point at(long long seconds) {
  return WallClock::time_point(std::chrono::seconds(seconds));
}

TEST(BanList, RoundTripsThroughItsFileFormat) {
  BanList list;
  list.add(Ban{"bob", false, std::nullopt, "teacher", "spam in the chat"});
  list.add(Ban{"10.0.0.23", true, at(2'000'000'000), "teacher", ""});
  list.add(Ban{"::1", true, std::nullopt, "admin2", "x"});
  const std::string text = list.serialize();
  std::string error;
  std::optional<BanList> back = BanList::parse(text, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->serialize(), text);
  const Ban* bob = back->find("BOB", false, at(0));
  ASSERT_NE(bob, nullptr);
  EXPECT_EQ(bob->reason, "spam in the chat");
  EXPECT_FALSE(bob->until);
  EXPECT_NE(back->find("10.0.0.23", true, at(1'999'999'999)), nullptr);
  EXPECT_EQ(back->find("10.0.0.23", true, at(2'000'000'000)), nullptr) << "expired";
  EXPECT_EQ(back->find("10.0.0.23", false, at(0)), nullptr) << "an address is not a name";
}

TEST(BanList, AddReplacesRemoveLiftsActiveDropsExpired) {
  BanList list;
  list.add(Ban{"bob", false, at(100), "t", "first"});
  list.add(Ban{"Bob", false, at(300), "t", "second"});
  list.add(Ban{"carol", false, at(50), "t", ""});
  std::vector<Ban> active = list.active(at(60));
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].reason, "second");
  EXPECT_TRUE(list.remove("BOB"));
  EXPECT_FALSE(list.remove("bob"));
  EXPECT_TRUE(list.active(at(0)).empty());
}

TEST(BanList, ABadLineIsAnErrorThatNamesTheLine) {
  const std::pair<std::string, std::string> cases[] = {
      {"person bob never t", "line 1: expected 'name' or 'address' first"},
      {"# c\nname bo/b never t", "line 2: 'bo/b' is not a valid username"},
      {"address 10.0.0.300 never t", "line 1: '10.0.0.300' is not a valid address"},
      {"name bob soon t", "line 1: the end must be 'never' or Unix seconds"},
      {"name bob -5 t", "line 1: the end must be 'never' or Unix seconds"},
      {"name bob 2000009999999 t", "line 1: the end must be 'never' or Unix seconds"},
      {"name bob never", "line 1: who banned is missing"},
      {"name bob never \r\t x", "line 1: who banned must be a username"},
  };
  for (const auto& [text, expected] : cases) {
    std::string error;
    EXPECT_FALSE(BanList::parse(text, error)) << text;
    EXPECT_EQ(error, expected);
  }
}

TEST(BanList, AReasonCannotBreakTheFileIntoLines) {
  BanList list;
  list.add(Ban{"bob", false, std::nullopt, "t", "  spam\nname alice never t\r "});
  std::string error;
  std::optional<BanList> back = BanList::parse(list.serialize(), error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->find("alice", false, WallClock::now()), nullptr);
  EXPECT_EQ(back->find("bob", false, WallClock::now())->reason, "spam name alice never t");
}

TEST(IsAddress, TakesNumericIpv4AndIpv6Only) {
  EXPECT_TRUE(isAddress("10.0.0.23"));
  EXPECT_TRUE(isAddress("::1"));
  EXPECT_TRUE(isAddress("fe80::1"));
  EXPECT_FALSE(isAddress("bob"));
  EXPECT_FALSE(isAddress("10.0.0"));
  EXPECT_FALSE(isAddress("localhost"));
  EXPECT_FALSE(isAddress(""));
}

}  // namespace
}  // namespace classchat::server
