#include "protocol/names.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <unordered_set>
#include <vector>

namespace classchat::protocol {
namespace {

TEST(CheckName, AcceptsLettersDigitsAndPunctuation) {
  EXPECT_EQ(checkName("alice"), NameVerdict::kValid);
  EXPECT_EQ(checkName("Bot_1"), NameVerdict::kValid);
  EXPECT_EQ(checkName("a.b-c"), NameVerdict::kValid);
  EXPECT_EQ(checkName(std::string(32, 'x')), NameVerdict::kValid);
}

TEST(CheckName, RefusesEmptyLongAndBadCharacters) {
  EXPECT_EQ(checkName(""), NameVerdict::kEmpty);
  EXPECT_EQ(checkName(std::string(33, 'x')), NameVerdict::kTooLong);
  EXPECT_EQ(checkName("al ice"), NameVerdict::kBadCharacter);
  EXPECT_EQ(checkName("bob!"), NameVerdict::kBadCharacter);
  EXPECT_EQ(checkName("j\xC3\xBCrgen"), NameVerdict::kBadCharacter);
}

TEST(CheckName, RefusesReservedNamesInAnyCase) {
  EXPECT_EQ(checkName("SERVER"), NameVerdict::kReserved);
  EXPECT_EQ(checkName("server"), NameVerdict::kReserved);
  EXPECT_EQ(checkName("everyone"), NameVerdict::kReserved);
  EXPECT_EQ(checkName("GUEST"), NameVerdict::kReserved);
  EXPECT_EQ(checkName("/list"), NameVerdict::kReserved);
}

TEST(NamesEqual, IgnoresAsciiCaseOnly) {
  EXPECT_TRUE(namesEqual("Bob", "bob"));
  EXPECT_FALSE(namesEqual("bob", "bobby"));
  EXPECT_EQ(nameHash("Bob"), nameHash("bOB"));
}

TEST(CheckName, LengthLimitIs32Characters) {
  EXPECT_EQ(kMaxNameLength, 32u);
  EXPECT_EQ(checkName("a"), NameVerdict::kValid);
  EXPECT_EQ(checkName(std::string(31, 'x')), NameVerdict::kValid);
  EXPECT_EQ(checkName(std::string(32, 'x')), NameVerdict::kValid);
  EXPECT_EQ(checkName(std::string(33, 'x')), NameVerdict::kTooLong);
  EXPECT_EQ(checkName(std::string(1000, 'x')), NameVerdict::kTooLong);
}

TEST(CheckName, ReservedNamesAreMatchedWhole) {
  for (const char* name :
       {"SERVER", "Server", "sErVeR", "Everyone", "EVERYONE", "Guest", "guest", "gUeSt"}) {
    EXPECT_EQ(checkName(name), NameVerdict::kReserved) << name;
  }
  for (const char* name : {"SERVER1", "servers", "xGuest", "Serve", "Guest2", "every1"}) {
    EXPECT_EQ(checkName(name), NameVerdict::kValid) << name;
  }
}

TEST(CheckName, NamesThatLookLikeAReservedNameAreReserved) {
  // Equal to a reserved name once '_', '-' and '.' are removed, ignoring case.
  for (const char* name : {"Server.", "SERVER_", "server-", "_server", ".SERVER.", "s.e.r.v.e.r",
                           "Ser_ver", "S-E-R-V-E-R", "Guest_", "g.u.e.s.t", "Everyone.",
                           "every-one", "EVERY_ONE", "__guest__", "-.-server-.-"}) {
    EXPECT_EQ(checkName(name), NameVerdict::kReserved) << name;
  }
  // Separators alone, or other characters around a reserved word, are not.
  for (const char* name : {"_", "-", ".", "._-", "server_1", "my.server", "guests", "server2.",
                           "every_one1", "x-guest", "serverr", "servr"}) {
    EXPECT_EQ(checkName(name), NameVerdict::kValid) << name;
  }
}

TEST(DescribeRefusal, SaysWhyANameLooksReserved) {
  const std::string text = describeRefusal(NameVerdict::kReserved, "Server.");
  EXPECT_NE(text.find("username 'Server.' is reserved"), std::string::npos) << text;
  EXPECT_NE(text.find("with _ - . added"), std::string::npos) << text;
  const std::string slash = describeRefusal(NameVerdict::kReserved, "/list");
  EXPECT_NE(slash.find("cannot start with '/'"), std::string::npos) << slash;
}

TEST(CheckName, AnythingStartingWithSlashIsReserved) {
  EXPECT_EQ(checkName("/"), NameVerdict::kReserved);
  EXPECT_EQ(checkName("/help"), NameVerdict::kReserved);
  EXPECT_EQ(checkName("/" + std::string(40, 'x')), NameVerdict::kReserved);
  EXPECT_EQ(checkName("a/b"), NameVerdict::kBadCharacter);
}

TEST(CheckName, RefusesEveryByteOutsideTheAlphabet) {
  for (int c = 0; c < 256; ++c) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (c == '/') continue;  // reserved when leading, checked above
    const std::string name = std::string("ab") + static_cast<char>(c);
    EXPECT_EQ(checkName(name), allowed ? NameVerdict::kValid : NameVerdict::kBadCharacter) << c;
  }
}

TEST(DescribeRefusal, NamesTheProblemAndQuotesTheNameSafely) {
  EXPECT_TRUE(describeRefusal(NameVerdict::kValid, "alice").empty());
  EXPECT_NE(describeRefusal(NameVerdict::kEmpty, "").find("required"), std::string::npos);
  EXPECT_NE(describeRefusal(NameVerdict::kTooLong, std::string(33, 'x')).find("32"),
            std::string::npos);
  EXPECT_NE(describeRefusal(NameVerdict::kReserved, "SERVER").find("'SERVER' is reserved"),
            std::string::npos);
  const std::string bad = describeRefusal(NameVerdict::kBadCharacter, "bad\xFFname");
  EXPECT_NE(bad.find("bad\xEF\xBF\xBDname"), std::string::npos) << bad;
  // A huge name is shortened in the reply.
  EXPECT_LT(describeRefusal(NameVerdict::kTooLong, std::string(5000, 'x')).size(), 200u);
}

TEST(NamesEqual, ComparesWholeNamesIgnoringOnlyAsciiCase) {
  EXPECT_TRUE(namesEqual("", ""));
  EXPECT_TRUE(namesEqual("A-b_C.9", "a-B_c.9"));
  EXPECT_FALSE(namesEqual("a", "b"));
  EXPECT_FALSE(namesEqual("bob", "bo"));
  // '@' and '`' differ from 'A'/'a' only by the case bit; they must not match letters.
  EXPECT_FALSE(namesEqual("@", "`"));
  EXPECT_FALSE(namesEqual("[", "{"));
  EXPECT_FALSE(namesEqual("\xC3\x89", "\xC3\xA9"));  // É vs é: not ASCII, so different
}

TEST(NameLess, OrdersIgnoringCaseWithATotalOrder) {
  EXPECT_TRUE(nameLess("alice", "Bob"));
  EXPECT_TRUE(nameLess("Alice", "bob"));
  EXPECT_FALSE(nameLess("bob", "Alice"));
  EXPECT_TRUE(nameLess("bob", "bobby"));
  EXPECT_FALSE(nameLess("bobby", "bob"));
  EXPECT_FALSE(nameLess("bob", "bob"));
  // Same name in different case: exactly one is less, so sorting is deterministic.
  EXPECT_NE(nameLess("Bob", "bob"), nameLess("bob", "Bob"));

  std::vector<std::string> names = {"carol", "Bob", "alice", "_x", "Zed", "bob2", "10", "9"};
  std::sort(names.begin(), names.end(), nameLess);
  EXPECT_EQ(names,
            (std::vector<std::string>{"10", "9", "_x", "alice", "Bob", "bob2", "carol", "Zed"}));
}

TEST(NameHash, CaseInsensitiveSetKeepsOneEntryPerName) {
  std::unordered_set<std::string, NameHash, NameEqual> names;
  EXPECT_TRUE(names.insert("Bob").second);
  EXPECT_FALSE(names.insert("bob").second);
  EXPECT_FALSE(names.insert("BOB").second);
  EXPECT_TRUE(names.insert("bobby").second);
  EXPECT_EQ(names.size(), 2u);
  // Heterogeneous lookup with a string_view finds the registered spelling.
  const auto found = names.find(std::string_view("bOb"));
  ASSERT_NE(found, names.end());
  EXPECT_EQ(*found, "Bob");
  EXPECT_EQ(names.count(std::string_view("nobody")), 0u);
}

TEST(NameHash, SpreadsDistinctNames) {
  std::unordered_set<std::size_t> hashes;
  for (int i = 0; i < 10000; ++i) hashes.insert(nameHash("user" + std::to_string(i)));
  EXPECT_EQ(hashes.size(), 10000u);
}

}  // namespace
}  // namespace classchat::protocol
