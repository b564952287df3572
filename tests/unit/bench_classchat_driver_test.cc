#include "bench/classchat_driver.h"

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

std::string frame(const std::string& from, const std::string& to, const std::string& msg) {
  return R"({"from":{"name":")" + from + R"(","ip":"127.0.0.1"},"to":")" + to + R"(","msg":")" +
         msg + R"("})";
}

TEST(BenchClassChatDriver, ReadsNewlineTerminatedReplies) {
  ClassChatDriver driver;
  Recorder recorder;
  const std::string input =
      frame("SERVER", "bob", "Welcome bob!") + "\n" + frame("alice", "bob", "hi") + "\r\n";
  EXPECT_EQ(driver.parse(input, recorder), input.size());
  ASSERT_EQ(recorder.events.size(), 2u);
  EXPECT_EQ(recorder.events[0].kind, Incoming::Kind::kWelcome);
  EXPECT_EQ(recorder.events[1].kind, Incoming::Kind::kDirect);
  EXPECT_EQ(recorder.events[1].from, "alice");
  EXPECT_EQ(recorder.events[1].text, "hi");
}

// The class's original server writes json.dumps() objects back to back with no separator,
// and with json.dumps' spaces after ':' and ','. The old driver waited for a newline that
// never came.
TEST(BenchClassChatDriver, ReadsObjectsWithNoSeparator) {
  ClassChatDriver driver;
  Recorder recorder;
  const std::string input =
      R"({"from": {"name": "SERVER", "ip": "127.0.0.1"}, "to": "bob", "msg": "Server time: 10:00:00"})"
      R"({"from": {"name": "carol", "ip": "127.0.0.1"}, "to": "Everyone", "msg": "a {brace} \"q\""})"
      R"({"from": {"name": "SERVER", "ip": "127.0.0.1"}, "to": "bob", "msg": "Error: no such user"})";
  EXPECT_EQ(driver.parse(input, recorder), input.size());
  ASSERT_EQ(recorder.events.size(), 3u);
  EXPECT_EQ(recorder.events[0].kind, Incoming::Kind::kReply);
  EXPECT_EQ(recorder.events[0].text, "Server time: 10:00:00");
  EXPECT_EQ(recorder.events[1].kind, Incoming::Kind::kShout);
  EXPECT_EQ(recorder.events[1].from, "carol");
  EXPECT_EQ(recorder.events[1].text, "a {brace} \"q\"");
  EXPECT_EQ(recorder.events[2].kind, Incoming::Kind::kError);
}

// An object split across reads: parse() consumes up to where it begins, and the engine
// passes those bytes again with the rest appended. With newlines, classchatd's compact
// frames take the fast path until the cut; without, every frame goes through the decoder.
TEST(BenchClassChatDriver, LeavesAnIncompleteObjectForTheNextRead) {
  for (const std::string separator : {"", "\n"}) {
    ClassChatDriver driver;
    Recorder recorder;
    const std::string first = frame("alice", "bob", "one") + separator;
    const std::string second = frame("alice", "bob", "two {not a brace") + separator;
    const std::string stream = first + second;
    for (std::size_t cut = first.size() + 1; cut < stream.size() - separator.size(); ++cut) {
      recorder.events.clear();
      const std::size_t used = driver.parse(std::string_view(stream).substr(0, cut), recorder);
      ASSERT_EQ(used, first.size()) << "cut at " << cut;
      ASSERT_EQ(recorder.events.size(), 1u);
      EXPECT_EQ(driver.parse(std::string_view(stream).substr(used), recorder), second.size());
      ASSERT_EQ(recorder.events.size(), 2u);
      EXPECT_EQ(recorder.events[1].text, "two {not a brace");
    }
  }
}

TEST(BenchClassChatDriver, ReportsTextOutsideObjectsAsMalformed) {
  ClassChatDriver driver;
  Recorder recorder;
  const std::string input = "garbage\n" + frame("alice", "bob", "hi") + "\n";
  EXPECT_EQ(driver.parse(input, recorder), input.size());
  ASSERT_EQ(recorder.events.size(), 2u);
  EXPECT_EQ(recorder.events[0].kind, Incoming::Kind::kMalformed);
  EXPECT_EQ(recorder.events[0].text, "garbage");
  EXPECT_EQ(recorder.events[1].kind, Incoming::Kind::kDirect);
}

TEST(BenchClassChatDriver, AnObjectWithoutTheFieldsIsMalformed) {
  ClassChatDriver driver;
  Recorder recorder;
  const std::string input = R"({"to":"bob"}{"from":{"name":"a"},"to":"b","msg":"c"})";
  EXPECT_EQ(driver.parse(input, recorder), input.size());
  ASSERT_EQ(recorder.events.size(), 2u);
  EXPECT_EQ(recorder.events[0].kind, Incoming::Kind::kMalformed);
  EXPECT_EQ(recorder.events[1].kind, Incoming::Kind::kDirect);
}

TEST(BenchClassChatDriver, WritesCompactRequests) {
  ClassChatDriver driver;
  std::string out;
  driver.appendLogin(out, "bob");
  driver.appendShout(out, "bob", "hi");
  EXPECT_EQ(out, R"(bob{"from":{"name":"bob","ip":"127.0.0.1"},"to":"/shout","msg":"hi"})"
                 "\n");
}

}  // namespace
}  // namespace classchat::bench
