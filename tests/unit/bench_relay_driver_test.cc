#include "bench/relay_driver.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bench/relay/relay_protocol.h"

namespace classchat::bench {
namespace {

using relay::FrameType;
using namespace std::string_literals;

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

// A frame written out by hand: the header layout is the contract with the relay.
std::string frame(std::uint8_t type, std::string_view body) {
  std::string out;
  const auto n = static_cast<std::uint32_t>(body.size());
  out += static_cast<char>(n & 0xFF);
  out += static_cast<char>(n >> 8 & 0xFF);
  out += static_cast<char>(n >> 16 & 0xFF);
  out += static_cast<char>(n >> 24);
  out += static_cast<char>(type);
  out += "\0\0\0"s;
  out += body;
  return out;
}

std::string serverStream() {
  return frame(2, "") +  // welcome
         frame(4,
               "\x05"
               "alicecb1.d.x") +  // deliver from alice
         frame(6,
               "\x03"
               "bobcb1.s.y") +                          // broadcast from bob
         frame(8, "ping-body") +                        // pong
         frame(9, "no such user") +                     // error
         frame(4, std::string(1, '\0') + "anonymous");  // an empty sender name
}

const std::vector<Event> kServerEvents = {
    {Kind::kWelcome, "", ""},           {Kind::kDirect, "alice", "cb1.d.x"},
    {Kind::kShout, "bob", "cb1.s.y"},   {Kind::kReply, "", "ping-body"},
    {Kind::kError, "", "no such user"}, {Kind::kDirect, "", "anonymous"},
};

TEST(BenchRelayDriver, WritesFixedHeaderFrames) {
  RelayDriver driver(DriverOptions{.receiveShouts = true});
  std::string out;
  driver.appendLogin(out, "tpd0x1_1");
  EXPECT_EQ(out, frame(1, "tpd0x1_1"));

  out.clear();
  driver.appendDirect(out, "alice", "bob", "cb1.d.payload");
  EXPECT_EQ(out, frame(3,
                       "\x03"
                       "bobcb1.d.payload"));
  out.clear();
  driver.appendShout(out, "alice", "cb1.s.payload");
  EXPECT_EQ(out, frame(5, "cb1.s.payload"));
  out.clear();
  driver.appendHeartbeat(out, "alice", "cb1.h.payload");  // a direct message to oneself
  EXPECT_EQ(out, frame(3,
                       "\x05"
                       "alicecb1.h.payload"));

  // Lengths above 255 use the upper header bytes.
  out.clear();
  const std::string big(70000, 'z');
  relay::appendFrame(out, FrameType::kShout, big);
  EXPECT_EQ(out.substr(0, 8), "\x70\x11\x01\x00\x05\x00\x00\x00"s);
  EXPECT_EQ(relay::readHeader(out.data()).length, 70000u);

  EXPECT_FALSE(driver.appendCommand(out, "/time", ""));
  EXPECT_FALSE(driver.shoutIsAcknowledged());
  EXPECT_EQ(driver.name(), "relay");
}

TEST(BenchRelayDriver, ClassifiesFramesAcrossAnySplit) {
  const std::string stream = serverStream();
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    RelayDriver driver(DriverOptions{});
    Recorder sink;
    std::string pending = stream.substr(0, split);
    pending.erase(0, driver.parse(pending, sink));
    pending += stream.substr(split);
    pending.erase(0, driver.parse(pending, sink));
    EXPECT_EQ(pending, "") << "split at " << split;
    EXPECT_EQ(sink.events, kServerEvents) << "split at " << split;
  }
}

TEST(BenchRelayDriver, WaitsForTheRestOfAFrame) {
  RelayDriver driver(DriverOptions{});
  Recorder sink;
  const std::string whole = frame(4,
                                  "\x05"
                                  "alicecb1.d.x");
  EXPECT_EQ(driver.parse(whole.substr(0, 7), sink), 0u);
  EXPECT_EQ(driver.parse(whole.substr(0, whole.size() - 1), sink), 0u);
  EXPECT_TRUE(sink.events.empty());
}

TEST(BenchRelayDriver, SkipsBadFramesThatKeepTheStreamInStep) {
  RelayDriver driver(DriverOptions{});
  Recorder sink;
  const std::string input = frame(4,
                                  "\x09"
                                  "bob") +  // the name runs past the body
                            frame(4, "") +  // no name length at all
                            frame(3,
                                  "\x03"
                                  "bobx") +  // a client-to-relay type
                            frame(4,
                                  "\x03"
                                  "bobok");
  EXPECT_EQ(driver.parse(input, sink), input.size());
  ASSERT_EQ(sink.events.size(), 4u);
  EXPECT_EQ(sink.events[0].kind, Kind::kMalformed);
  EXPECT_EQ(sink.events[1].kind, Kind::kMalformed);
  EXPECT_EQ(sink.events[2].kind, Kind::kMalformed);
  EXPECT_EQ(sink.events[3], (Event{Kind::kDirect, "bob", "ok"}));
}

TEST(BenchRelayDriver, GivesUpOnAStreamOutOfStep) {
  // After an unknown type or an oversized length no later frame boundary can be trusted:
  // one kMalformed, everything consumed.
  for (const std::string& bad : {frame(0, "x"), frame(10, "x"), frame(200, "x"),
                                 "\xff\xff\xff\xff\x04\0\0\0"s, "\x01\x00\x01\x00\x04\0\0\0"s}) {
    RelayDriver driver(DriverOptions{});
    Recorder sink;
    const std::string input = bad + frame(2, "");
    EXPECT_EQ(driver.parse(input, sink), input.size());
    ASSERT_EQ(sink.events.size(), 1u);
    EXPECT_EQ(sink.events[0].kind, Kind::kMalformed);
  }
  // The largest body allowed is still waited for.
  RelayDriver driver(DriverOptions{});
  Recorder sink;
  std::string header;
  relay::appendHeader(header, relay::kMaxBody, FrameType::kDeliver);
  EXPECT_EQ(driver.parse(header, sink), 0u);
  EXPECT_TRUE(sink.events.empty());
}

}  // namespace
}  // namespace classchat::bench
