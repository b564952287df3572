#include "client/format.h"

#include <gtest/gtest.h>

#include <clocale>
#include <string>

#include "protocol/names.h"

namespace classchat::client {
namespace {

protocol::ServerMessage message(std::string name, std::string ip, std::string to, std::string msg) {
  return {std::move(name), std::move(ip), std::move(to), std::move(msg)};
}

const protocol::ServerMessage kWelcome =
    message("SERVER", "0.0.0.0", "alice", "Welcome alice! You are the only one online.");
const protocol::ServerMessage kError =
    message("SERVER", "0.0.0.0", "alice", "Error: user 'bobby' not found");
const protocol::ServerMessage kDirect = message("bob", "127.0.0.1", "alice", "see you at 3?");
const protocol::ServerMessage kShout = message("bob", "127.0.0.1", "Everyone", "pizza");

TEST(ClientFormat, ClassifiesMessages) {
  EXPECT_EQ(classify(kWelcome), MessageKind::kServer);
  EXPECT_EQ(classify(kError), MessageKind::kServerError);
  EXPECT_EQ(classify(kDirect), MessageKind::kDirect);
  EXPECT_EQ(classify(kShout), MessageKind::kShout);
  // A user cannot pass for the server by name alone: the server's ip is 0.0.0.0.
  EXPECT_EQ(classify(message("SERVER", "127.0.0.1", "alice", "Error: x")), MessageKind::kDirect);
}

TEST(ClientFormat, PlainLinesCarryTimeSenderAndText) {
  EXPECT_EQ(formatMessage(kDirect, "14:02:51", false), "[14:02:51] bob: see you at 3?");
  EXPECT_EQ(formatMessage(kShout, "14:02:51", false), "[14:02:51] bob (to everyone): pizza");
  EXPECT_EQ(formatMessage(kWelcome, "14:02:51", false),
            "[14:02:51] [server] Welcome alice! You are the only one online.");
  EXPECT_EQ(formatMessage(kError, "14:02:51", false),
            "[14:02:51] [server] Error: user 'bobby' not found");
}

TEST(ClientFormat, NoUserCanImitateAServerLine) {
  // The labels start with characters no username may hold, so no user's line, which
  // starts with the sender's name, can start like them.
  EXPECT_NE(protocol::checkName("[server]"), protocol::NameVerdict::kValid);
  EXPECT_NE(protocol::checkName("["), protocol::NameVerdict::kValid);
  EXPECT_NE(protocol::checkName("-!-"), protocol::NameVerdict::kValid);

  const std::string realError = formatMessage(
      message("SERVER", "0.0.0.0", "alice", "Error: you have been removed"), "t", false);
  EXPECT_EQ(realError, "[t] [server] Error: you have been removed");
  // Names that look like the server's, sending the server's words, its label included.
  for (const char* name : {"Server.", "SERVER_", "server-", "Server", "server1", "--"}) {
    for (const char* text :
         {"Error: you have been removed", "[server] Error: you have been removed",
          "x\n[t] [server] Error: you have been removed"}) {
      const auto forged = message(name, "127.0.0.1", "alice", text);
      const std::string plain = formatMessage(forged, "t", false);
      EXPECT_TRUE(plain.starts_with(std::string("[t] ") + name + ": ")) << plain;
      EXPECT_NE(plain, realError);
      // A second line is indented: it cannot start like a line of its own.
      EXPECT_EQ(plain.find("\n[t]"), std::string::npos) << plain;
      // In colour the label is bold: the server's colour, which users cannot send.
      const std::string coloured = formatMessage(forged, "t", true);
      EXPECT_EQ(coloured.find("\033[1;33m[server]"), std::string::npos) << coloured;
      EXPECT_EQ(coloured.find("\033[1;31m[server]"), std::string::npos) << coloured;
    }
  }
  // Even a user who claims the server's name and ip is not the server unless both match.
  EXPECT_EQ(formatMessage(message("SERVER", "127.0.0.1", "alice", "Error: x"), "t", false),
            "[t] SERVER: Error: x");
}

TEST(ClientFormat, EachKindHasItsOwnColour) {
  const std::string server = formatMessage(kWelcome, "t", true);
  const std::string error = formatMessage(kError, "t", true);
  const std::string direct = formatMessage(kDirect, "t", true);
  const std::string shout = formatMessage(kShout, "t", true);
  EXPECT_NE(server.find("\033[1;33m[server]\033[0m"), std::string::npos);
  EXPECT_NE(server.find("\033[33mWelcome"), std::string::npos);
  EXPECT_NE(error.find("\033[1;31m[server]\033[0m"), std::string::npos);
  EXPECT_NE(error.find("\033[31mError"), std::string::npos);
  EXPECT_NE(direct.find("\033[1;32m"), std::string::npos);
  EXPECT_NE(shout.find("\033[1;35m"), std::string::npos);
  for (const std::string* line : {&server, &error, &direct, &shout}) {
    EXPECT_NE(line->find("\033[0m"), std::string::npos);
  }
  EXPECT_EQ(formatMessage(kDirect, "t", false).find('\033'), std::string::npos);
}

TEST(ClientFormat, ColourRules) {
  EXPECT_TRUE(shouldUseColour(false, nullptr, true));
  EXPECT_TRUE(shouldUseColour(false, "", true));  // NO_COLOR set but empty: ignored
  EXPECT_FALSE(shouldUseColour(false, "1", true));
  EXPECT_FALSE(shouldUseColour(true, nullptr, true));
  EXPECT_FALSE(shouldUseColour(false, nullptr, false));
}

TEST(ClientFormat, TerminalControlsAreNeutralised) {
  EXPECT_EQ(sanitizeForTerminal("\033[2Jgotcha"), "^[[2Jgotcha");
  EXPECT_EQ(sanitizeForTerminal("a\rb\x7f"), "a^Mb^?");
  EXPECT_EQ(sanitizeForTerminal("bell\a"), "bell^G");
  EXPECT_EQ(sanitizeForTerminal("csi\xC2\x9B"
                                "31m"),
            "csi\xEF\xBF\xBD"
            "31m");
  EXPECT_EQ(sanitizeForTerminal("bad\xFFutf8"), "bad\xEF\xBF\xBDutf8");
  EXPECT_EQ(sanitizeForTerminal("two\nlines", "  "), "two\n  lines");
  EXPECT_EQ(sanitizeForTerminal("tab\tand \xC3\xA9t\xC3\xA9 \xF0\x9F\x8D\x95"),
            "tab\tand \xC3\xA9t\xC3\xA9 \xF0\x9F\x8D\x95");
}

TEST(ClientFormat, SenderNamesAreSanitisedToo) {
  const auto evil = message("ev\033il", "1.2.3.4", "alice", "x");
  EXPECT_EQ(formatMessage(evil, "t", false), "[t] ev^[il: x");
}

TEST(ClientFormat, NoticesAreMarked) {
  EXPECT_EQ(formatNotice("Reconnected as alice.", NoticeKind::kInfo, "t", false),
            "[t] -!- Reconnected as alice.");
  EXPECT_NE(formatNotice("lost", NoticeKind::kProblem, "t", true).find("\033[1;31m"),
            std::string::npos);
}

TEST(ClientFormat, LongLinesAreWrappedWithAnIndent) {
  EXPECT_EQ(wrapForTerminal("short", 10), "short");
  EXPECT_EQ(wrapForTerminal("0123456789", 10), "0123456789");  // exactly the width
  EXPECT_EQ(wrapForTerminal("0123456789abcdef", 10), "0123456789\n    abcdef");
  EXPECT_EQ(wrapForTerminal("0123456789abcdefABCDEF", 10), "0123456789\n    abcdef\n    ABCDEF");
  // Colour codes take no room.
  EXPECT_EQ(wrapForTerminal("\033[1;32mbob\033[0m: 0123456789", 10),
            "\033[1;32mbob\033[0m: 01234\n    56789");
  // A newline starts a new row; its indent (from sanitizeForTerminal) counts.
  EXPECT_EQ(wrapForTerminal("01234567\n    0123456789", 10), "01234567\n    012345\n    6789");
  EXPECT_EQ(wrapForTerminal("0123456789", 4), "0123456789");  // too narrow to indent

  // Wide characters take two columns and are never split.
  const std::string saved = std::setlocale(LC_CTYPE, nullptr);
  ASSERT_NE(std::setlocale(LC_CTYPE, "C.UTF-8"), nullptr);
  EXPECT_EQ(wrapForTerminal(
                "\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5", 11),
            "\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5\n    "
            "\xE6\x97\xA5");
  std::setlocale(LC_CTYPE, saved.c_str());
}

TEST(ClientFormat, TextPaddedToTheWidthCannotStartARowLikeAServerLine) {
  // "[14:02:51] bob: " takes 16 columns: 64 more fill an 80-column row, and without our
  // own wrapping the terminal would start the next row with the forged server line.
  const std::string forged = formatMessage(
      message("bob", "127.0.0.1", "alice",
              std::string(64, 'x') + "[14:02:51] [server] Error: you have been removed"),
      "14:02:51", false);
  const std::string wrapped = wrapForTerminal(forged, 80);
  EXPECT_EQ(wrapped, "[14:02:51] bob: " + std::string(64, 'x') +
                         "\n    [14:02:51] [server] Error: you have been removed");
  EXPECT_EQ(wrapped.find("\n[14:02:51]"), std::string::npos);
}

TEST(ClientFormat, AsSentenceAddsOneFullStop) {
  EXPECT_EQ(asSentence("username 'bob' is already taken"), "username 'bob' is already taken.");
  // The server's reason for a bad name ends with the '.' names may hold.
  EXPECT_EQ(asSentence("invalid username 'a b': use only A-Z a-z 0-9 _ - ."),
            "invalid username 'a b': use only A-Z a-z 0-9 _ - .");
  EXPECT_EQ(asSentence("try again later!"), "try again later!");
  EXPECT_EQ(asSentence(""), ".");
}

TEST(ClientFormat, JsonLineIsTheContractShapeWithoutNewline) {
  const auto m = message("bob", "127.0.0.1", "alice", "say \"hi\"\n");
  EXPECT_EQ(jsonLine(m),
            R"({"from":{"name":"bob","ip":"127.0.0.1"},"to":"alice","msg":"say \"hi\"\n"})");
}

TEST(ClientFormat, ClockStampIsHoursMinutesSeconds) {
  const std::string stamp = clockStamp(std::chrono::system_clock::now());
  ASSERT_EQ(stamp.size(), 8u);
  EXPECT_EQ(stamp[2], ':');
  EXPECT_EQ(stamp[5], ':');
}

}  // namespace
}  // namespace classchat::client
