#include "client/completion.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace classchat::client {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ParseListedNames, ReadsAListReply) {
  const auto listed = parseListedNames("Online users (3): alice, Bob, carol");
  ASSERT_TRUE(listed);
  EXPECT_THAT(listed->names, ElementsAre("alice", "Bob", "carol"));
  EXPECT_TRUE(listed->isFirstPage);
}

TEST(ParseListedNames, ReadsPagedReplies) {
  const auto first = parseListedNames(
      "Online users (2500): aaron, abby (page 1/31, 2419 more; send /list with msg 2 for the "
      "next page)");
  ASSERT_TRUE(first);
  EXPECT_THAT(first->names, ElementsAre("aaron", "abby"));
  EXPECT_TRUE(first->isFirstPage);

  const auto last = parseListedNames("Online users (2500): zed, zoe (page 31/31)");
  ASSERT_TRUE(last);
  EXPECT_THAT(last->names, ElementsAre("zed", "zoe"));
  EXPECT_FALSE(last->isFirstPage);
}

TEST(ParseListedNames, ReadsTheWelcome) {
  const auto listed = parseListedNames(
      "Welcome alice! Online now (2): bob, carol. Send /help to see the commands.");
  ASSERT_TRUE(listed);
  EXPECT_THAT(listed->names, ElementsAre("bob", "carol"));

  const auto many = parseListedNames(
      "Welcome alice! Online now (12): a1, a2 and 10 more (see /list). Send /help to see the "
      "commands.");
  ASSERT_TRUE(many);
  EXPECT_THAT(many->names, ElementsAre("a1", "a2"));

  const auto alone = parseListedNames(
      "Welcome alice! You are the only one online. Send /help to see the commands.");
  ASSERT_TRUE(alone);
  EXPECT_THAT(alone->names, IsEmpty());
}

TEST(ParseListedNames, AloneAndOtherRepliesAreRecognised) {
  const auto alone = parseListedNames("You are the only active user!");
  ASSERT_TRUE(alone);
  EXPECT_THAT(alone->names, IsEmpty());
  EXPECT_FALSE(parseListedNames("Server time: 14:02:51"));
  EXPECT_FALSE(parseListedNames("Error: user 'bob' not found"));
}

TEST(NameBook, ListReplacesTheLastListButKeepsWriters) {
  NameBook book;
  book.learnFromServerReply("Online users (2): bob, bert");
  book.addWriter("barbara");
  EXPECT_THAT(book.matching("b"), ElementsAre("barbara", "bert", "bob"));
  book.learnFromServerReply("Online users (1): bill");
  EXPECT_THAT(book.matching("b"), ElementsAre("barbara", "bill"));
  book.learnFromServerReply("Online users (3): zed (page 2/2)");
  EXPECT_THAT(book.matching(""), ElementsAre("barbara", "bill", "zed"));
}

TEST(NameBook, NamesAreOneIgnoringCase) {
  NameBook book;
  book.addWriter("Bob");
  book.addWriter("bob");
  book.addWriter("not a name!");
  EXPECT_THAT(book.matching("B"), ElementsAre("Bob"));
  EXPECT_THAT(book.matching("BO"), ElementsAre("Bob"));
}

TEST(Complete, UniqueNameAfterAtIsCompletedWithASpace) {
  NameBook book;
  book.learnFromServerReply("Online users (2): bob, carol");
  const Completion completion = complete("@bo", book);
  EXPECT_EQ(completion.replaceBytes, 2u);
  EXPECT_EQ(completion.insert, "bob ");
  EXPECT_THAT(completion.candidates, IsEmpty());
}

TEST(Complete, TheRegisteredSpellingReplacesWhatWasTyped) {
  NameBook book;
  book.addWriter("Carol");
  const Completion completion = complete("/to ca", book);
  EXPECT_EQ(completion.replaceBytes, 2u);
  EXPECT_EQ(completion.insert, "Carol ");
}

TEST(Complete, CommonPrefixThenCandidates) {
  NameBook book;
  book.learnFromServerReply("Online users (3): robert, roberta, rob");
  const Completion partial = complete("hi ro", book);
  EXPECT_EQ(partial.insert, "rob");
  EXPECT_EQ(partial.replaceBytes, 2u);

  const Completion list = complete("hi rob", book);
  EXPECT_TRUE(list.insert.empty());
  EXPECT_THAT(list.candidates, ElementsAre("rob", "robert", "roberta"));
}

TEST(Complete, CommandsAtTheStartOfTheLine) {
  NameBook book;
  book.addWriter("shelly");
  const Completion shout = complete("/sh", book);
  EXPECT_EQ(shout.insert, "/shout ");
  EXPECT_EQ(shout.replaceBytes, 3u);
  const Completion s = complete("/s", book);
  EXPECT_THAT(s.candidates, ElementsAre("/shout", "/standard"));
  // Not the first word: a name.
  EXPECT_EQ(complete("/to sh", book).insert, "shelly ");
}

TEST(Complete, NothingKnownNothingDone) {
  NameBook book;
  const Completion completion = complete("@x", book);
  EXPECT_TRUE(completion.insert.empty());
  EXPECT_THAT(completion.candidates, IsEmpty());
}

}  // namespace
}  // namespace classchat::client
