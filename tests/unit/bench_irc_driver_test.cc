#include "bench/irc_driver.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace classchat::bench {
namespace {

// Incoming with its views copied, so events can be checked after parse() returns.
struct Event {
  Incoming::Kind kind;
  std::string from;
  std::string text;
};

class Recorder final : public IncomingSink {
 public:
  void onIncoming(const Incoming& incoming) override {
    events.push_back({incoming.kind, std::string(incoming.from), std::string(incoming.text)});
  }
  std::vector<Event> events;
};

IrcDriver direct() {
  return IrcDriver(DriverOptions{});
}
IrcDriver shouts() {
  return IrcDriver(DriverOptions{.receiveShouts = true});
}

TEST(BenchIrcDriver, WritesLoginMessagesAndHeartbeats) {
  IrcDriver plain = direct();
  std::string out;
  plain.appendLogin(out, "tpd0x1_1");
  EXPECT_EQ(out, "NICK tpd0x1_1\r\nUSER tpd0x1_1 0 * :tpd0x1_1\r\n");

  // Joining the shout channel waits for the registration (001).
  IrcDriver joining = shouts();
  out.clear();
  joining.appendLogin(out, "bob");
  EXPECT_EQ(out, "NICK bob\r\nUSER bob 0 * :bob\r\n");
  out.clear();
  for (const char* line : {":irc.test NOTICE * :*** Looking up your hostname...",
                           ":irc.test 002 bob :Your host is irc.test"}) {
    joining.appendLoginReply(out, joining.parseLine(line));
  }
  EXPECT_EQ(out, "");
  joining.appendLoginReply(out, joining.parseLine(":irc.test 001 bob :Welcome"));
  EXPECT_EQ(out, "JOIN #all\r\n");
  out.clear();
  plain.appendLoginReply(out, plain.parseLine(":irc.test 001 bob :Welcome"));
  EXPECT_EQ(out, "");

  out.clear();
  plain.appendDirect(out, "alice", "bob", "cb1.d.payload");
  plain.appendShout(out, "alice", "cb1.s.payload");
  plain.appendHeartbeat(out, "alice", "cb1.h.payload");
  EXPECT_EQ(out,
            "PRIVMSG bob :cb1.d.payload\r\n"
            "PRIVMSG #all :cb1.s.payload\r\n"
            "PING :alice cb1.h.payload\r\n");

  EXPECT_FALSE(plain.appendCommand(out, "/time", ""));
  EXPECT_FALSE(plain.shoutIsAcknowledged());
  EXPECT_EQ(plain.name(), "irc");
}

TEST(BenchIrcDriver, ClassifiesUsersMessages) {
  IrcDriver driver = direct();
  Incoming in = driver.parseLine(":alice!~alice@127.0.0.1 PRIVMSG bob :cb1.d.x");
  EXPECT_EQ(in.kind, Incoming::Kind::kDirect);
  EXPECT_EQ(in.from, "alice");
  EXPECT_EQ(in.text, "cb1.d.x");

  in = driver.parseLine(":alice!alice@localhost PRIVMSG #all :cb1.s.x");
  EXPECT_EQ(in.kind, Incoming::Kind::kShout);
  EXPECT_EQ(in.from, "alice");
  EXPECT_EQ(in.text, "cb1.s.x");

  // A one-word text need not have the colon; tags are skipped; a bare nick is a sender.
  in = driver.parseLine("@time=2026-01-01T00:00:00Z :carol PRIVMSG bob word");
  EXPECT_EQ(in.kind, Incoming::Kind::kDirect);
  EXPECT_EQ(in.from, "carol");
  EXPECT_EQ(in.text, "word");

  // Texts keep their spaces and colons.
  in = driver.parseLine(":a!b@c PRIVMSG bob :two words: here");
  EXPECT_EQ(in.text, "two words: here");
}

TEST(BenchIrcDriver, HeartbeatEchoIsADirectMessageFromSelf) {
  IrcDriver driver = direct();
  std::string out;
  driver.appendHeartbeat(out, "ramp0_7", "cb1.h.text");
  // Both servers answer with the token as the trailing parameter.
  Incoming in = driver.parseLine(":irc.test PONG irc.test :ramp0_7 cb1.h.text");
  EXPECT_EQ(in.kind, Incoming::Kind::kDirect);
  EXPECT_EQ(in.from, "ramp0_7");
  EXPECT_EQ(in.text, "cb1.h.text");
  in = driver.parseLine("PONG irc.test :ramp0_7 cb1.h.text");
  EXPECT_EQ(in.kind, Incoming::Kind::kDirect);
  EXPECT_EQ(in.from, "ramp0_7");
  // A PONG that is not ours (no space in the token) is just a reply.
  EXPECT_EQ(driver.parseLine(":irc.test PONG irc.test :irc.test").kind, Incoming::Kind::kReply);
  EXPECT_EQ(driver.parseLine(":irc.test PONG irc.test").kind, Incoming::Kind::kReply);
}

TEST(BenchIrcDriver, WelcomeIsRplWelcomeWithoutTheChannel) {
  IrcDriver driver = direct();
  EXPECT_EQ(driver.parseLine(":irc.test 001 bob :Welcome to the Internet Relay Network bob").kind,
            Incoming::Kind::kWelcome);
  EXPECT_EQ(driver.parseLine(":irc.test 366 bob #all :End of NAMES list").kind,
            Incoming::Kind::kReply);
}

TEST(BenchIrcDriver, WelcomeIsTheEndOfTheChannelsNamesWhenJoining) {
  IrcDriver driver = shouts();
  EXPECT_EQ(driver.parseLine(":irc.test 001 bob :Welcome").kind, Incoming::Kind::kReply);
  EXPECT_EQ(driver.parseLine(":bob!~bob@127.0.0.1 JOIN :#all").kind, Incoming::Kind::kReply);
  EXPECT_EQ(driver.parseLine(":bob!~bob@127.0.0.1 JOIN #all").kind, Incoming::Kind::kReply);
  EXPECT_EQ(driver.parseLine(":irc.test 353 bob = #all :@alice bob").kind, Incoming::Kind::kReply);
  EXPECT_EQ(driver.parseLine(":irc.test 366 bob #other :End of /NAMES list.").kind,
            Incoming::Kind::kReply);
  EXPECT_EQ(driver.parseLine(":irc.test 366 bob #ALL :End of /NAMES list.").kind,
            Incoming::Kind::kWelcome);
}

TEST(BenchIrcDriver, ClassifiesServerLines) {
  IrcDriver driver = direct();
  Incoming in = driver.parseLine(":irc.test 433 * bob :Nickname already in use");
  EXPECT_EQ(in.kind, Incoming::Kind::kError);
  EXPECT_EQ(in.from, "irc.test");
  EXPECT_EQ(in.text, ":irc.test 433 * bob :Nickname already in use");
  EXPECT_EQ(driver.parseLine(":irc.test 401 bob nobody :No such nick or channel name").kind,
            Incoming::Kind::kError);
  EXPECT_EQ(driver.parseLine(":irc.test 599 bob :x").kind, Incoming::Kind::kError);
  EXPECT_EQ(driver.parseLine("ERROR :Closing link: (bob@127.0.0.1) [Excess Flood]").kind,
            Incoming::Kind::kError);
  EXPECT_EQ(driver.parseLine(":irc.test 005 bob NICKLEN=31 :are supported").kind,
            Incoming::Kind::kReply);
  EXPECT_EQ(driver.parseLine(":irc.test 372 bob :- motd").kind, Incoming::Kind::kReply);
  EXPECT_EQ(driver.parseLine(":irc.test 422 bob :MOTD File is missing").kind,
            Incoming::Kind::kReply);
  EXPECT_EQ(driver.parseLine(":irc.test NOTICE * :*** Looking up your hostname...").kind,
            Incoming::Kind::kReply);
  EXPECT_EQ(driver.parseLine("NOTICE AUTH :*** Processing connection").kind,
            Incoming::Kind::kReply);
  EXPECT_EQ(driver.parseLine("PING :irc.test").kind, Incoming::Kind::kReply);
  EXPECT_EQ(driver.parseLine(":bob MODE bob :+i").kind, Incoming::Kind::kReply);
  EXPECT_EQ(driver.parseLine(":carol!c@h QUIT :Client exited").kind, Incoming::Kind::kReply);
}

TEST(BenchIrcDriver, RejectsWhatIsNotIrc) {
  IrcDriver driver = direct();
  for (const std::string_view bad : {
           std::string_view(R"({"from":{"name":"SERVER"},"to":"bob","msg":"Welcome bob"})"),
           std::string_view("hello world"),
           std::string_view(":"),
           std::string_view(": PRIVMSG bob :x"),
           std::string_view(":irc.test"),
           std::string_view(":irc.test 12 bob :short numeric"),
           std::string_view(":irc.test 1234 bob :long numeric"),
           std::string_view(":irc.test privmsg bob :lower case"),
           std::string_view(":irc.test FROB bob :unknown command"),
           std::string_view("PRIVMSG bob :no sender"),
           std::string_view(":alice PRIVMSG bob"),
           std::string_view(":alice PRIVMSG"),
           std::string_view(":alice PRIVMSG bob :a\rb"),
           std::string_view(":alice PRIVMSG bob :a\0b", 23),
       }) {
    const Incoming in = driver.parseLine(bad);
    EXPECT_EQ(in.kind, Incoming::Kind::kMalformed) << bad;
    EXPECT_EQ(in.text, bad);
  }
}

TEST(BenchIrcDriver, SplitsLinesAcrossAndWithinReads) {
  IrcDriver driver = direct();
  Recorder sink;
  const std::string stream =
      ":irc.test 001 bob :Welcome\r\n"
      ":alice!a@h PRIVMSG bob :one\r\n"
      "\r\n"
      ":alice!a@h PRIVMSG bob :two\n"
      ":alice!a@h PRIVMSG #all :three\r\n";
  // Every split point: what parse() leaves is passed again with the rest appended.
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    sink.events.clear();
    std::string pending = stream.substr(0, cut);
    pending.erase(0, driver.parse(pending, sink));
    pending += stream.substr(cut);
    EXPECT_EQ(driver.parse(pending, sink), pending.size()) << cut;
    ASSERT_EQ(sink.events.size(), 4u) << cut;
    EXPECT_EQ(sink.events[0].kind, Incoming::Kind::kWelcome);
    EXPECT_EQ(sink.events[1].text, "one");
    EXPECT_EQ(sink.events[2].kind, Incoming::Kind::kDirect);
    EXPECT_EQ(sink.events[2].text, "two");
    EXPECT_EQ(sink.events[3].kind, Incoming::Kind::kShout);
    EXPECT_EQ(sink.events[3].from, "alice");
    EXPECT_EQ(sink.events[3].text, "three");
  }
}

TEST(BenchIrcDriver, LeavesAnIncompleteLine) {
  IrcDriver driver = direct();
  Recorder sink;
  const std::string input = ":alice!a@h PRIVMSG bob :one\r\n:alice!a@h PRIV";
  EXPECT_EQ(driver.parse(input, sink), input.find("\n") + 1);
  ASSERT_EQ(sink.events.size(), 1u);
  // A line cut between \r and \n is not complete either.
  sink.events.clear();
  EXPECT_EQ(driver.parse(":alice!a@h PRIVMSG bob :one\r", sink), 0u);
  EXPECT_TRUE(sink.events.empty());
}

TEST(BenchIrcDriver, OverlongLinesAreMalformedAndDropped) {
  IrcDriver driver = direct();
  Recorder sink;
  // A complete line over the limit.
  const std::string longText(IrcDriver::kMaxLineBytes, 'x');
  std::string input = ":alice!a@h PRIVMSG bob :" + longText + "\r\n:alice!a@h PRIVMSG bob :ok\r\n";
  EXPECT_EQ(driver.parse(input, sink), input.size());
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[0].kind, Incoming::Kind::kMalformed);
  EXPECT_EQ(sink.events[1].kind, Incoming::Kind::kDirect);
  EXPECT_EQ(sink.events[1].text, "ok");

  // An unterminated line over the limit is reported and consumed, not buffered forever.
  sink.events.clear();
  input = ":alice!a@h PRIVMSG bob :ok\r\n" + std::string(IrcDriver::kMaxLineBytes + 1, 'y');
  EXPECT_EQ(driver.parse(input, sink), input.size());
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[0].kind, Incoming::Kind::kDirect);
  EXPECT_EQ(sink.events[1].kind, Incoming::Kind::kMalformed);
  EXPECT_EQ(sink.events[1].text.size(), IrcDriver::kMaxLineBytes);

  // Up to the limit, an unterminated line is just incomplete.
  sink.events.clear();
  input = std::string(IrcDriver::kMaxLineBytes, 'y');
  EXPECT_EQ(driver.parse(input, sink), 0u);
  EXPECT_TRUE(sink.events.empty());
}

}  // namespace
}  // namespace classchat::bench
