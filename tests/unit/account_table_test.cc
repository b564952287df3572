#include "server/account_table.h"

#include <gtest/gtest.h>

namespace classchat::server {
namespace {

const std::string kHash =
    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
    "0123456789abcdefghijklmnopqrstuvwxyzABCDE";

TEST(AccountTable, ReadsUsersAndAdminsIgnoringCommentsAndBlankLines) {
  std::string error;
  const auto table = AccountTable::parse(
      "# the class\n\nteacher admin " + kHash + "\r\n  alice\tuser  " + kHash + "\n", error);
  ASSERT_TRUE(table) << error;
  EXPECT_EQ(table->size(), 2u);
  ASSERT_NE(table->find("TEACHER"), nullptr);
  EXPECT_EQ(table->find("teacher")->role, Role::kAdmin);
  EXPECT_EQ(table->find("Alice")->role, Role::kUser);
  EXPECT_EQ(table->find("alice")->hash, kHash);
  EXPECT_EQ(table->find("bob"), nullptr);
}

TEST(AccountTable, ABadLineIsAnErrorThatNamesTheLine) {
  const std::pair<std::string, std::string> cases[] = {
      {"alice user", "line 1: expected NAME ROLE HASH, found 2 field(s)"},
      {"# ok\nalice boss " + kHash, "line 2: the role must be 'user' or 'admin'"},
      {"alice user notahash", "line 1: the hash must be an argon2id string"},
      {"al/ice user " + kHash, "line 1: invalid username"},
      {"alice user " + kHash + "\nALICE admin " + kHash, "line 2: 'ALICE' is listed twice"},
      {"alice user " + kHash + " extra", "line 1: expected NAME ROLE HASH, found 4 field(s)"},
  };
  for (const auto& [text, expected] : cases) {
    std::string error;
    EXPECT_FALSE(AccountTable::parse(text, error)) << text;
    EXPECT_EQ(error.rfind(expected, 0), 0u) << error;
    EXPECT_EQ(error.find("c29tZXNhbHQ"), std::string::npos) << "never echo a hash: " << error;
  }
}

TEST(AccountTable, AnEmptyFileProtectsNobody) {
  std::string error;
  const auto table = AccountTable::parse("", error);
  ASSERT_TRUE(table);
  EXPECT_EQ(table->size(), 0u);
}

}  // namespace
}  // namespace classchat::server
