#include "protocol/frame_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace classchat::protocol {
namespace {

// Records every event as a tagged string: "O:<object>", "G:<snippet>" or "X:<limit>".
class RecordingSink final : public FrameSink {
 public:
  void onObject(std::string_view object) override { events.push_back("O:" + std::string(object)); }
  void onGarbage(std::string_view text) override { events.push_back("G:" + std::string(text)); }
  void onOversize(std::size_t limit) override { events.push_back("X:" + std::to_string(limit)); }
  std::vector<std::string> events;
};

std::string obj(std::string_view text) {
  return "O:" + std::string(text);
}
std::string garbage(std::string_view text) {
  return "G:" + std::string(text);
}

constexpr std::size_t kLimit = 64 * 1024;

// Feeds `stream` in chunks of `chunkSize` bytes (the last one may be shorter).
std::vector<std::string> feedInChunks(std::string_view stream, std::size_t chunkSize,
                                      std::size_t limit = kLimit) {
  FrameDecoder decoder(limit);
  RecordingSink sink;
  for (std::size_t i = 0; i < stream.size(); i += chunkSize) {
    decoder.feed(stream.substr(i, chunkSize), sink);
  }
  EXPECT_FALSE(decoder.insideObject());
  EXPECT_EQ(decoder.bufferedBytes(), 0u);
  return sink.events;
}

// An object whose strings contain every character that could confuse a brace counter.
const std::string kTricky =
    R"({"from":{"name":"a}b{","ip":"1.2.3.4"},"to":"bob","msg":"x\"}{\\\"y\\","n":{"m":"}}"}})";

TEST(FrameDecoder, ReportsOneObjectFromOneChunk) {
  FrameDecoder decoder(kLimit);
  RecordingSink sink;
  decoder.feed(R"({"to":"bob","msg":"hi"})", sink);
  EXPECT_EQ(sink.events, std::vector<std::string>{obj(R"({"to":"bob","msg":"hi"})")});
  EXPECT_FALSE(decoder.insideObject());
  EXPECT_EQ(decoder.bufferedBytes(), 0u);
}

TEST(FrameDecoder, ReassemblesAnObjectSplitAtEveryBytePosition) {
  for (std::size_t cut = 0; cut <= kTricky.size(); ++cut) {
    FrameDecoder decoder(kLimit);
    RecordingSink sink;
    decoder.feed(std::string_view(kTricky).substr(0, cut), sink);
    if (cut < kTricky.size()) {
      EXPECT_TRUE(sink.events.empty()) << "cut at " << cut;
    }
    decoder.feed(std::string_view(kTricky).substr(cut), sink);
    EXPECT_EQ(sink.events, std::vector<std::string>{obj(kTricky)}) << "cut at " << cut;
    EXPECT_EQ(decoder.bufferedBytes(), 0u) << "cut at " << cut;
  }
}

TEST(FrameDecoder, ReassemblesAnObjectSplitIntoThreePiecesAnywhere) {
  const std::string_view text = kTricky;
  for (std::size_t a = 0; a <= text.size(); ++a) {
    for (std::size_t b = a; b <= text.size(); ++b) {
      FrameDecoder decoder(kLimit);
      RecordingSink sink;
      decoder.feed(text.substr(0, a), sink);
      decoder.feed(text.substr(a, b - a), sink);
      decoder.feed(text.substr(b), sink);
      ASSERT_EQ(sink.events, std::vector<std::string>{obj(text)}) << "cuts " << a << "," << b;
    }
  }
}

TEST(FrameDecoder, ReportsCoalescedObjectsInOrderForEveryChunkSize) {
  const std::vector<std::string> objects = {R"({"to":"a","msg":"1"})", kTricky,
                                            R"({"to":"c","msg":"{{{"})", "{}"};
  std::string stream;
  std::vector<std::string> expected;
  for (const std::string& object : objects) {
    stream += object;
    expected.push_back(obj(object));
  }
  for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    EXPECT_EQ(feedInChunks(stream, chunk), expected) << "chunk size " << chunk;
  }
}

TEST(FrameDecoder, SkipsWhitespaceAndNewlinesBetweenObjects) {
  const std::string stream = " \n{\"a\":1}\r\n\t {\"b\":2}\n\n{\"c\":3}  \n";
  const std::vector<std::string> expected = {obj(R"({"a":1})"), obj(R"({"b":2})"),
                                             obj(R"({"c":3})")};
  for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    EXPECT_EQ(feedInChunks(stream, chunk), expected) << "chunk size " << chunk;
  }
}

TEST(FrameDecoder, KeepsWhitespaceInsideAnObject) {
  const std::string object = "{ \"to\" :\n \"bob\" ,\r\n\"msg\": \"a b\" }";
  EXPECT_EQ(feedInChunks(object, object.size()), std::vector<std::string>{obj(object)});
}

TEST(FrameDecoder, HandlesNestedObjects) {
  const std::string nested = R"({"a":{"b":{"c":{}}},"d":[{"e":1},{"f":{}}]})";
  const std::string stream = nested + R"({"after":true})";
  const std::vector<std::string> expected = {obj(nested), obj(R"({"after":true})")};
  for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    EXPECT_EQ(feedInChunks(stream, chunk), expected) << "chunk size " << chunk;
  }
}

TEST(FrameDecoder, BracesInsideStringsDoNotCount) {
  const std::string a = R"({"msg":"}"})";
  const std::string b = R"({"msg":"{"})";
  const std::string c = R"({"msg":"}}}{{{"})";
  EXPECT_EQ(feedInChunks(a + b + c, 1000), (std::vector<std::string>{obj(a), obj(b), obj(c)}));
}

TEST(FrameDecoder, EscapedQuoteDoesNotEndAString) {
  // If \" ended the string, the following '}' would close the object early.
  const std::string a = R"({"msg":"say \"}\" now"})";
  const std::string b = R"({"to":"x"})";
  EXPECT_EQ(feedInChunks(a + b, 1000), (std::vector<std::string>{obj(a), obj(b)}));
}

TEST(FrameDecoder, EscapedBackslashBeforeAQuoteEndsTheString) {
  // "a\\" ends after the two backslashes; treating the quote as escaped would swallow
  // the closing brace and merge the two objects.
  const std::string a = R"({"msg":"a\\"})";
  const std::string b = R"({"msg":"\\\\\"}\\"})";
  const std::string c = R"({"to":"x"})";
  for (std::size_t chunk = 1; chunk <= (a + b + c).size(); ++chunk) {
    EXPECT_EQ(feedInChunks(a + b + c, chunk), (std::vector<std::string>{obj(a), obj(b), obj(c)}))
        << "chunk size " << chunk;
  }
}

TEST(FrameDecoder, ReportsAGarbageRunOnceUpToTheNextBrace) {
  FrameDecoder decoder(kLimit);
  RecordingSink sink;
  decoder.feed(R"(hello there {"to":"x"})", sink);
  EXPECT_EQ(sink.events, (std::vector<std::string>{garbage("hello there "), obj(R"({"to":"x"})")}));
}

TEST(FrameDecoder, GarbageRunEndsAtNewline) {
  FrameDecoder decoder(kLimit);
  RecordingSink sink;
  decoder.feed("abc def\nghi\n\n  jkl", sink);
  EXPECT_EQ(sink.events,
            (std::vector<std::string>{garbage("abc def"), garbage("ghi"), garbage("jkl")}));
}

TEST(FrameDecoder, TopLevelStringWithABraceIsSkippedWhole) {
  FrameDecoder decoder(kLimit);
  RecordingSink sink;
  decoder.feed(R"("a{b" "c\"{d" {"to":"x"})", sink);
  EXPECT_EQ(sink.events,
            (std::vector<std::string>{garbage(R"("a{b" "c\"{d" )"), obj(R"({"to":"x"})")}));
}

TEST(FrameDecoder, StrayQuoteInGarbageCostsAtMostItsLine) {
  FrameDecoder decoder(kLimit);
  RecordingSink sink;
  decoder.feed("it's \"odd {\n{\"to\":\"x\"}", sink);
  EXPECT_EQ(sink.events, (std::vector<std::string>{garbage("it's \"odd {"), obj(R"({"to":"x"})")}));
}

TEST(FrameDecoder, GarbageRunEndsWithTheChunk) {
  FrameDecoder decoder(kLimit);
  RecordingSink sink;
  decoder.feed("abc", sink);
  decoder.feed("def{}", sink);
  EXPECT_EQ(sink.events, (std::vector<std::string>{garbage("abc"), garbage("def"), obj("{}")}));
}

TEST(FrameDecoder, GarbageSnippetIsAtMost64BytesAndReportedOnce) {
  std::string run;
  for (int i = 0; i < 1000; ++i) run += static_cast<char>('a' + i % 26);
  FrameDecoder decoder(kLimit);
  RecordingSink sink;
  decoder.feed(run + "{}", sink);
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[0], garbage(run.substr(0, 64)));
  EXPECT_EQ(sink.events[1], obj("{}"));
}

TEST(FrameDecoder, StrayClosingBraceAndGarbageBetweenObjectsAreReported) {
  FrameDecoder decoder(kLimit);
  RecordingSink sink;
  decoder.feed(R"({"a":1}} [1,2] {"b":2}null)", sink);
  EXPECT_EQ(sink.events, (std::vector<std::string>{obj(R"({"a":1})"), garbage("} [1,2] "),
                                                   obj(R"({"b":2})"), garbage("null")}));
}

TEST(FrameDecoder, ObjectOfExactlyTheLimitIsAcceptedOneMoreIsNot) {
  constexpr std::size_t kSmall = 32;
  const std::string prefix = R"({"msg":")";
  const std::string suffix = R"("})";
  const std::string fits =
      prefix + std::string(kSmall - prefix.size() - suffix.size(), 'x') + suffix;
  const std::string over =
      prefix + std::string(kSmall + 1 - prefix.size() - suffix.size(), 'x') + suffix;
  ASSERT_EQ(fits.size(), kSmall);
  ASSERT_EQ(over.size(), kSmall + 1);
  for (std::size_t chunk = 1; chunk <= over.size(); ++chunk) {
    EXPECT_EQ(feedInChunks(fits, chunk, kSmall), std::vector<std::string>{obj(fits)})
        << "chunk size " << chunk;
    EXPECT_EQ(feedInChunks(over + "{}", chunk, kSmall),
              (std::vector<std::string>{"X:32", obj("{}")}))
        << "chunk size " << chunk;
  }
}

TEST(FrameDecoder, OversizeObjectIsReportedOnceAndSkippedWithoutBuffering) {
  constexpr std::size_t kSmall = 1024;
  // A 4 MiB object whose strings contain braces and escapes, streamed in 1000-byte reads.
  std::string huge = R"({"to":"bob","msg":")";
  while (huge.size() < 4 * 1024 * 1024) huge += R"(}{ \"}\\ {{)";
  huge += R"(","nested":{"a":{"b":"}"}}})";
  const std::string after = R"({"to":"bob","msg":"after"})";
  const std::string stream = huge + "\n" + after;

  FrameDecoder decoder(kSmall);
  RecordingSink sink;
  std::size_t maxBuffered = 0;
  for (std::size_t i = 0; i < stream.size(); i += 1000) {
    decoder.feed(std::string_view(stream).substr(i, 1000), sink);
    maxBuffered = std::max(maxBuffered, decoder.bufferedBytes());
  }
  EXPECT_LE(maxBuffered, kSmall);
  EXPECT_EQ(sink.events, (std::vector<std::string>{"X:1024", obj(after)}));
  EXPECT_FALSE(decoder.insideObject());
  EXPECT_EQ(decoder.bufferedBytes(), 0u);
}

TEST(FrameDecoder, OversizeObjectInOneChunkIsSkippedAndLaterObjectsWork) {
  constexpr std::size_t kSmall = 100;
  const std::string huge = R"({"msg":")" + std::string(10000, '{') + R"("})";
  FrameDecoder decoder(kSmall);
  RecordingSink sink;
  decoder.feed(R"({"a":1})" + huge + R"({"b":2})", sink);
  EXPECT_EQ(sink.events, (std::vector<std::string>{obj(R"({"a":1})"), "X:100", obj(R"({"b":2})")}));
  EXPECT_EQ(decoder.bufferedBytes(), 0u);
}

TEST(FrameDecoder, OversizeObjectSplitAcrossManyFeedsAtEveryChunkSize) {
  constexpr std::size_t kSmall = 16;
  const std::string big = R"({"msg":"}}}\"{{{{{{{{{{{{{{","x":{"y":"}"}})";
  const std::string stream = "{}" + big + " {\"z\":1}";
  for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    EXPECT_EQ(feedInChunks(stream, chunk, kSmall),
              (std::vector<std::string>{obj("{}"), "X:16", obj(R"({"z":1})")}))
        << "chunk size " << chunk;
  }
}

TEST(FrameDecoder, HoldsNoBufferWhenIdle) {
  FrameDecoder decoder(kLimit);
  RecordingSink sink;
  EXPECT_EQ(decoder.bufferedBytes(), 0u);
  EXPECT_EQ(decoder.bufferCapacity(), 0u);

  // A split object is buffered while incomplete...
  const std::string object = R"({"to":"bob","msg":")" + std::string(2000, 'x') + R"("})";
  decoder.feed(std::string_view(object).substr(0, 1500), sink);
  EXPECT_TRUE(decoder.insideObject());
  EXPECT_EQ(decoder.bufferedBytes(), 1500u);
  // ...and released once it completes.
  decoder.feed(std::string_view(object).substr(1500), sink);
  EXPECT_EQ(sink.events, std::vector<std::string>{obj(object)});
  EXPECT_FALSE(decoder.insideObject());
  EXPECT_EQ(decoder.bufferedBytes(), 0u);
  EXPECT_EQ(decoder.bufferCapacity(), 0u);

  // Same after an oversize object was abandoned part way.
  FrameDecoder small(100);
  small.feed(std::string_view(object).substr(0, 99), sink);
  small.feed(std::string_view(object).substr(99), sink);
  EXPECT_EQ(sink.events.back(), "X:100");
  EXPECT_EQ(small.bufferedBytes(), 0u);
  EXPECT_EQ(small.bufferCapacity(), 0u);
}

TEST(FrameDecoder, ObjectViewIsCompleteEvenWhenTheChunkEndsMidWay) {
  FrameDecoder decoder(kLimit);
  RecordingSink sink;
  decoder.feed(R"({"a":"1"}{"b":)", sink);
  EXPECT_EQ(sink.events, std::vector<std::string>{obj(R"({"a":"1"})")});
  EXPECT_EQ(decoder.bufferedBytes(), std::string_view(R"({"b":)").size());
  decoder.feed(R"("2"} junk)", sink);
  EXPECT_EQ(sink.events,
            (std::vector<std::string>{obj(R"({"a":"1"})"), obj(R"({"b":"2"})"), garbage("junk")}));
}

}  // namespace
}  // namespace classchat::protocol
