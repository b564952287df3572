#include "bench/payload.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "bench/classchat_driver.h"

namespace classchat::bench {
namespace {

TEST(BenchPayload, RoundTripsAtEverySize) {
  for (std::size_t size : {std::size_t{0}, kMinPayloadBytes, std::size_t{80}, std::size_t{4096}}) {
    Payload in{PayloadKind::kShout, 12, kAllRecipients, 0xABCDEF123456, 1234567890123456789};
    std::string text;
    appendPayload(text, in, size);
    EXPECT_EQ(text.size(), std::max(size, kMinPayloadBytes));
    Payload out;
    ASSERT_TRUE(decodePayload(text, out)) << text;
    EXPECT_EQ(out.kind, in.kind);
    EXPECT_EQ(out.sender, in.sender);
    EXPECT_EQ(out.recipient, in.recipient);
    EXPECT_EQ(out.seq, in.seq);
    EXPECT_EQ(out.scheduled, in.scheduled);
  }
}

TEST(BenchPayload, AnyChangedByteIsDetected) {
  Payload in{PayloadKind::kDirect, 1, 2, 3, 4};
  std::string text;
  appendPayload(text, in, 100);
  Payload out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::string bad = text;
    bad[i] = bad[i] == 'x' ? 'y' : 'x';
    EXPECT_FALSE(decodePayload(bad, out)) << i;
  }
  EXPECT_FALSE(decodePayload(text.substr(0, text.size() - 1), out));
  EXPECT_FALSE(decodePayload(text + "a", out));
  EXPECT_FALSE(decodePayload("hello", out));
}

TEST(BenchPayloadReader, RemembersTheLastTextButChecksEveryChangedOne) {
  Payload first{PayloadKind::kShout, 7, kAllRecipients, 41, 1000};
  Payload second{PayloadKind::kShout, 7, kAllRecipients, 42, 2000};
  std::string a, b;
  appendPayload(a, first, 80);
  appendPayload(b, second, 80);
  PayloadReader reader;
  Payload out;
  for (int copy = 0; copy < 3; ++copy) {  // the same shout, as every listener gets it
    ASSERT_TRUE(reader.decode(a, out));
    EXPECT_EQ(out.seq, 41u);
    EXPECT_EQ(out.scheduled, 1000);
  }
  std::string damaged = a;
  damaged[30] = damaged[30] == '0' ? '1' : '0';
  EXPECT_FALSE(reader.decode(damaged, out));
  EXPECT_FALSE(reader.decode(a.substr(0, a.size() - 1), out));
  ASSERT_TRUE(reader.decode(b, out));
  EXPECT_EQ(out.seq, 42u);
  ASSERT_TRUE(reader.decode(a, out));
  EXPECT_EQ(out.seq, 41u);
  EXPECT_EQ(out.sender, 7u);
}

TEST(BenchPayload, HexFieldsRejectNonDigits) {
  std::string text;
  appendPayload(text, Payload{PayloadKind::kDirect, 1, 2, 3, 4}, 64);
  Payload out;
  ASSERT_TRUE(decodePayload(text, out));
  for (const char bad : {'g', 'x', ' ', '-', '+', '\0'}) {
    std::string changed = text;
    changed[6] = bad;  // first digit of the sender
    // With a checksum that matches, so that only the hex reading can refuse it.
    const std::size_t crcAt = changed.size() - 8;
    changed.replace(
        crcAt, 8,
        fmt::format("{:08x}", payloadChecksum(std::string_view(changed).substr(0, crcAt - 1))));
    EXPECT_FALSE(decodePayload(changed, out)) << bad;
  }
  // The same rewrite with a digit still decodes, so the refusals above are the hex check's.
  std::string changed = text;
  changed[6] = '9';
  const std::size_t crcAt = changed.size() - 8;
  changed.replace(
      crcAt, 8,
      fmt::format("{:08x}", payloadChecksum(std::string_view(changed).substr(0, crcAt - 1))));
  ASSERT_TRUE(decodePayload(changed, out));
  EXPECT_EQ(out.sender, 0x90000001u);
}

struct Collect final : IncomingSink {
  std::vector<Incoming::Kind> kinds;
  std::vector<std::string> from, text;
  void onIncoming(const Incoming& incoming) override {
    kinds.push_back(incoming.kind);
    from.emplace_back(incoming.from);
    text.emplace_back(incoming.text);
  }
};

TEST(BenchClassChatDriver, ClassifiesFramesAndKeepsPartialOnes) {
  ClassChatDriver driver;
  const std::string stream =
      R"({"from":{"name":"SERVER","ip":"0.0.0.0"},"to":"a","msg":"Welcome a! hi"})"
      "\n"
      R"({"msg":"Server time: 10:00:00","to":"a","from":{"ip":"0.0.0.0","name":"SERVER"}})"
      "\n"
      R"({"from":{"name":"SERVER","ip":"0.0.0.0"},"to":"a","msg":"Error: nope"})"
      "\n"
      R"({"from":{"name":"bob","ip":"1.2.3.4"},"to":"a","msg":"q\"uote"})"
      "\n"
      R"({"from":{"name":"bob","ip":"1.2.3.4"},"to":"Everyone","msg":"all"})"
      "\n"
      "not json\n"
      R"({"from":{"name":"bob")";
  Collect sink;
  const std::size_t used = driver.parse(stream, sink);
  EXPECT_EQ(used, stream.rfind('\n') + 1);
  ASSERT_EQ(sink.kinds.size(), 6u);
  EXPECT_EQ(sink.kinds[0], Incoming::Kind::kWelcome);
  EXPECT_EQ(sink.kinds[1], Incoming::Kind::kReply);
  EXPECT_EQ(sink.kinds[2], Incoming::Kind::kError);
  EXPECT_EQ(sink.kinds[3], Incoming::Kind::kDirect);
  EXPECT_EQ(sink.text[3], "q\"uote");
  EXPECT_EQ(sink.from[3], "bob");
  EXPECT_EQ(sink.kinds[4], Incoming::Kind::kShout);
  EXPECT_EQ(sink.kinds[5], Incoming::Kind::kMalformed);
}

TEST(BenchClassChatDriver, BuildsContractMessages) {
  ClassChatDriver driver;
  std::string out;
  driver.appendLogin(out, "Bot_1");
  EXPECT_EQ(out, "Bot_1");
  out.clear();
  driver.appendShout(out, "Bot_1", "hi");
  EXPECT_NE(out.find(R"("to":"/shout")"), std::string::npos);
  EXPECT_NE(out.find(R"("msg":"hi")"), std::string::npos);
}

}  // namespace
}  // namespace classchat::bench

namespace classchat::bench {
namespace {

TEST(BenchClassChatDriver, CanonicalAndGeneralFramesAgree) {
  ClassChatDriver driver;
  const Incoming fast =
      driver.parseFrame(R"({"from":{"name":"bob","ip":"1.2.3.4"},"to":"amy","msg":"hi there"})");
  EXPECT_EQ(fast.kind, Incoming::Kind::kDirect);
  EXPECT_EQ(fast.from, "bob");
  EXPECT_EQ(fast.text, "hi there");
  const Incoming spaced = driver.parseFrame(
      R"({ "from" : {"name":"bob","ip":"1.2.3.4"}, "to":"amy", "msg":"hi there" })");
  EXPECT_EQ(spaced.kind, Incoming::Kind::kDirect);
  EXPECT_EQ(spaced.text, "hi there");
  const Incoming escaped =
      driver.parseFrame(R"({"from":{"name":"bob","ip":"1.2.3.4"},"to":"amy","msg":"a\nb"})");
  EXPECT_EQ(escaped.text, "a\nb");
  EXPECT_EQ(
      driver.parseFrame(R"({"from":{"name":"bob","ip":"1.2.3.4"},"to":"amy","msg":"x"}junk)").kind,
      Incoming::Kind::kMalformed);
  EXPECT_EQ(driver.parseFrame(R"({"from":{"name":"bob","ip":"1.2.3.4"},"to":"amy"})").kind,
            Incoming::Kind::kMalformed);
}

}  // namespace
}  // namespace classchat::bench
