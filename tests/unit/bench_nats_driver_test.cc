#include "bench/nats_driver.h"

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
  bool operator==(const Event&) const = default;
};

class Recorder final : public IncomingSink {
 public:
  void onIncoming(const Incoming& incoming) override {
    events.push_back({incoming.kind, std::string(incoming.from), std::string(incoming.text)});
  }
  std::vector<Event> events;
};

using Kind = Incoming::Kind;

// Feeds `chunks` the way the engine does: unconsumed bytes are passed again with the
// next chunk appended. Returns what is left over at the end.
std::string feed(NatsDriver& driver, const std::vector<std::string>& chunks, Recorder& sink) {
  std::string pending;
  for (const std::string& chunk : chunks) {
    pending += chunk;
    const std::size_t used = driver.parse(pending, sink);
    EXPECT_LE(used, pending.size());
    pending.erase(0, used);
  }
  return pending;
}

constexpr std::string_view kServerStream =
    "INFO {\"server_id\":\"X\",\"max_payload\":8388608} \r\n"
    "PONG\r\n"
    "MSG u.bob 1 alice 11\r\ncb1.d.hello\r\n"
    "MSG all bob carol 11\r\ncb1.s.shout\r\n"
    "MSG all bob bob 9\r\ncb1.s.own\r\n"
    "PING\r\n"
    "+OK\r\n"
    "MSG u.bob 1 4\r\nab\r\n\r\n"
    "-ERR 'Slow Consumer'\r\n";

const std::vector<Event> kServerEvents = {
    {Kind::kReply, "", "INFO {\"server_id\":\"X\",\"max_payload\":8388608} "},
    {Kind::kWelcome, "", "PONG"},
    {Kind::kDirect, "alice", "cb1.d.hello"},
    {Kind::kShout, "carol", "cb1.s.shout"},
    // bob's own shout (reply-to == the sid, bob's name) is dropped.
    {Kind::kReply, "", "PING"},
    // +OK is ignored; a payload is binary-safe, CRLF included; no reply-to, no sender.
    {Kind::kDirect, "", "ab\r\n"},
    {Kind::kError, "", "Slow Consumer"},
};

TEST(BenchNatsDriver, WritesLoginMessagesAndHeartbeats) {
  NatsDriver plain(DriverOptions{});
  std::string out;
  plain.appendLogin(out, "tpd0x1_1");
  EXPECT_EQ(out,
            "CONNECT {\"verbose\":false,\"pedantic\":false,\"echo\":true,\"name\":\"tpd0x1_1\"}\r\n"
            "SUB u.tpd0x1_1 1\r\n"
            "PING\r\n");

  NatsDriver listening(DriverOptions{.receiveShouts = true});
  out.clear();
  listening.appendLogin(out, "bob");
  EXPECT_EQ(out,
            "CONNECT {\"verbose\":false,\"pedantic\":false,\"echo\":true,\"name\":\"bob\"}\r\n"
            "SUB u.bob 1\r\n"
            "SUB all bob\r\n"
            "PING\r\n");

  out.clear();
  plain.appendDirect(out, "alice", "bob", "cb1.d.payload");
  plain.appendShout(out, "alice", "cb1.s.payload");
  plain.appendHeartbeat(out, "alice", "cb1.h.payload");
  EXPECT_EQ(out,
            "PUB u.bob alice 13\r\ncb1.d.payload\r\n"
            "PUB all alice 13\r\ncb1.s.payload\r\n"
            "PUB u.alice alice 13\r\ncb1.h.payload\r\n");

  EXPECT_FALSE(plain.appendCommand(out, "/time", ""));
  EXPECT_FALSE(plain.shoutIsAcknowledged());
  EXPECT_EQ(plain.name(), "nats");
}

TEST(BenchNatsDriver, ClassifiesServerLines) {
  NatsDriver driver(DriverOptions{.receiveShouts = true});
  Recorder sink;
  EXPECT_EQ(driver.parse(kServerStream, sink), kServerStream.size());
  EXPECT_EQ(sink.events, kServerEvents);
}

TEST(BenchNatsDriver, ParsesTheSameAcrossAnySplit) {
  for (std::size_t split = 1; split < kServerStream.size(); ++split) {
    NatsDriver driver(DriverOptions{});
    Recorder sink;
    const std::string rest = feed(
        driver,
        {std::string(kServerStream.substr(0, split)), std::string(kServerStream.substr(split))},
        sink);
    EXPECT_EQ(rest, "") << "split at " << split;
    EXPECT_EQ(sink.events, kServerEvents) << "split at " << split;
  }
  // One byte at a time.
  NatsDriver driver(DriverOptions{});
  Recorder sink;
  std::vector<std::string> bytes;
  for (const char c : kServerStream) bytes.emplace_back(1, c);
  EXPECT_EQ(feed(driver, bytes, sink), "");
  EXPECT_EQ(sink.events, kServerEvents);
}

TEST(BenchNatsDriver, WaitsForAPayloadStillInFlight) {
  NatsDriver driver(DriverOptions{});
  Recorder sink;
  EXPECT_EQ(driver.parse("MSG u.bob 1 alice 10\r\ncb1.d", sink), 0u);
  EXPECT_EQ(driver.parse("MSG u.bob 1 alice 5\r\nhello\r", sink), 0u);
  EXPECT_EQ(driver.parse("PONG", sink), 0u);
  EXPECT_TRUE(sink.events.empty());
  // Lowercase operations and bare newlines are accepted.
  const std::string_view relaxed = "pong\nmsg u.bob 1 alice 2\nhi\r\n";
  EXPECT_EQ(driver.parse(relaxed, sink), relaxed.size());
  const std::vector<Event> expected = {{Kind::kWelcome, "", "pong"},
                                       {Kind::kDirect, "alice", "hi"}};
  EXPECT_EQ(sink.events, expected);
}

TEST(BenchNatsDriver, ReportsBadInputAndCarriesOn) {
  NatsDriver driver(DriverOptions{});
  Recorder sink;
  const std::string input =
      "HELLO there\r\n"                        // unknown operation
      "MSG u.bob 1 alice x\r\n"                // length not a number
      "MSG u.bob\r\n"                          // too few fields
      "MSG u.bob 1 alice 2 extra\r\n"          // too many
      "MSG u.bob 1 alice 99999999999\r\n"      // over kMaxPayload: only the line goes
      "MSG u.bob 1 alice 2\r\nhiXY"            // payload not followed by CRLF
      "\r\n"                                   // (the rest is then read as lines)
      "MSG other.subject 1 alice 2\r\nhi\r\n"  // a subject the driver never subscribes to
      "MSG u.bob 1 alice 2\r\nok\r\n";
  EXPECT_EQ(driver.parse(input, sink), input.size());
  ASSERT_EQ(sink.events.size(), 9u);
  EXPECT_EQ(sink.events[0], (Event{Kind::kMalformed, "", "HELLO there"}));
  EXPECT_EQ(sink.events[1], (Event{Kind::kMalformed, "", "MSG u.bob 1 alice x"}));
  EXPECT_EQ(sink.events[2].kind, Kind::kMalformed);
  EXPECT_EQ(sink.events[3].kind, Kind::kMalformed);
  EXPECT_EQ(sink.events[4], (Event{Kind::kMalformed, "", "MSG u.bob 1 alice 99999999999"}));
  EXPECT_EQ(sink.events[5], (Event{Kind::kMalformed, "", "MSG u.bob 1 alice 2"}));
  EXPECT_EQ(sink.events[6], (Event{Kind::kMalformed, "", "hiXY"}));
  EXPECT_EQ(sink.events[7], (Event{Kind::kMalformed, "", "MSG other.subject 1 alice 2"}));
  EXPECT_EQ(sink.events[8], (Event{Kind::kDirect, "alice", "ok"}));
}

TEST(BenchNatsDriver, DropsAnEndlessLine) {
  NatsDriver driver(DriverOptions{});
  Recorder sink;
  const std::string almost(NatsDriver::kMaxControlLine, 'x');
  EXPECT_EQ(driver.parse(almost, sink), 0u);  // might still end
  EXPECT_TRUE(sink.events.empty());
  const std::string endless(NatsDriver::kMaxControlLine + 1, 'x');
  EXPECT_EQ(driver.parse(endless, sink), endless.size());
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].kind, Kind::kMalformed);
  EXPECT_EQ(sink.events[0].text, std::string(100, 'x'));  // quoted, not copied whole
}

}  // namespace
}  // namespace classchat::bench
