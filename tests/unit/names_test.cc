#include "protocol/names.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace classchat::protocol
