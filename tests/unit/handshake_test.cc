#include "protocol/handshake.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace classchat::protocol {
namespace {

TEST(SplitHandshake, BareNameIsTheWholeRead) {
  const HandshakeSplit split = splitHandshake("alice");
  EXPECT_FALSE(split.jsonFirst);
  EXPECT_EQ(split.name, "alice");
  EXPECT_TRUE(split.rest.empty());
}

TEST(SplitHandshake, NameEndsAtNewline) {
  const HandshakeSplit split = splitHandshake("alice\nmore");
  EXPECT_FALSE(split.jsonFirst);
  EXPECT_EQ(split.name, "alice");
  EXPECT_EQ(split.rest, "\nmore");
}

TEST(SplitHandshake, NameEndsAtCarriageReturn) {
  const HandshakeSplit split = splitHandshake("alice\r\n");
  EXPECT_EQ(split.name, "alice");
  EXPECT_EQ(split.rest, "\r\n");
}

TEST(SplitHandshake, NameEndsAtBraceAndTheObjectIsKept) {
  const std::string_view read = R"(alice{"to":"bob","msg":"hi"})";
  const HandshakeSplit split = splitHandshake(read);
  EXPECT_FALSE(split.jsonFirst);
  EXPECT_EQ(split.name, "alice");
  EXPECT_EQ(split.rest, R"({"to":"bob","msg":"hi"})");
  // The views point into the read: nothing is copied.
  EXPECT_EQ(split.name.data(), read.data());
  EXPECT_EQ(split.rest.data(), read.data() + 5);
}

TEST(SplitHandshake, FirstTerminatorWins) {
  EXPECT_EQ(splitHandshake("a{b\nc").name, "a");
  EXPECT_EQ(splitHandshake("a{b\nc").rest, "{b\nc");
  EXPECT_EQ(splitHandshake("a\rb{c").name, "a");
  EXPECT_EQ(splitHandshake("a\rb{c").rest, "\rb{c");
}

TEST(SplitHandshake, TrimsSurroundingWhitespace) {
  EXPECT_EQ(splitHandshake("  alice\t ").name, "alice");
  EXPECT_EQ(splitHandshake(" \t alice \n").name, "alice");
  EXPECT_EQ(splitHandshake("alice   {}").name, "alice");
  // Inner whitespace is kept (and refused by the name rules later).
  EXPECT_EQ(splitHandshake(" al ice ").name, "al ice");
}

TEST(SplitHandshake, EmptyAndBlankReadsGiveAnEmptyName) {
  for (std::string_view read : {"", " ", "\n", "\r\n", "   \t "}) {
    const HandshakeSplit split = splitHandshake(read);
    EXPECT_FALSE(split.jsonFirst) << '"' << read << '"';
    EXPECT_TRUE(split.name.empty()) << '"' << read << '"';
  }
}

TEST(SplitHandshake, LeadingBraceMeansJsonFirst) {
  const std::string_view read = R"({"from":{"name":"alice"},"to":"bob","msg":"hi"})";
  const HandshakeSplit split = splitHandshake(read);
  EXPECT_TRUE(split.jsonFirst);
  EXPECT_TRUE(split.name.empty());
  EXPECT_EQ(split.rest, read);
}

TEST(SplitHandshake, WhitespaceBeforeTheBraceStillMeansJsonFirst) {
  const HandshakeSplit split = splitHandshake(" \r\n\t{\"a\":1}{\"b\":2}");
  EXPECT_TRUE(split.jsonFirst);
  EXPECT_TRUE(split.name.empty());
  EXPECT_EQ(split.rest, "{\"a\":1}{\"b\":2}");
}

TEST(SplitHandshake, NameWithUnicodeIsReturnedForTheRulesToRefuse) {
  const HandshakeSplit split = splitHandshake("j\xC3\xBCrgen\n");
  EXPECT_FALSE(split.jsonFirst);
  EXPECT_EQ(split.name, "j\xC3\xBCrgen");
}

TEST(SplitHandshake, TrimsExactlyJsonWhitespace) {
  // Space, tab, CR and LF, as everywhere in the contract (protocol::isJsonWhitespace);
  // a vertical tab or form feed is part of the name, which the name rules then refuse.
  EXPECT_EQ(splitHandshake(" \t alice \t ").name, "alice");
  EXPECT_EQ(splitHandshake("\valice\f").name, "\valice\f");
}

TEST(SplitHandshake, SaysWhetherTheNameEndedAtATerminator) {
  // Ended: the name is complete, so the server decides at once.
  for (std::string_view read : {"alice\n", "alice\r\n", "alice\r", "alice{\"to\":\"/time\"}",
                                "  \n", "{\"from\":{\"name\":\"a\"}}", " {"}) {
    EXPECT_TRUE(splitHandshake(read).terminated) << '"' << read << '"';
  }
  // Ran to the end of the read: more of the name may follow (--name-wait-ms).
  for (std::string_view read : {"alice", "boa", " alice \t", "", "   "}) {
    EXPECT_FALSE(splitHandshake(read).terminated) << '"' << read << '"';
  }
}

TEST(SplitHandshake, PiecesJoinedGiveTheWholeName) {
  std::string joined = "boa";
  EXPECT_FALSE(splitHandshake(joined).terminated);
  joined += "rd9\n";
  const HandshakeSplit split = splitHandshake(joined);
  EXPECT_TRUE(split.terminated);
  EXPECT_EQ(split.name, "board9");
  EXPECT_EQ(split.rest, "\n");
}

}  // namespace
}  // namespace classchat::protocol
