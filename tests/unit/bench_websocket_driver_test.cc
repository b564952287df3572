#include "bench/websocket_driver.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace classchat::bench {
namespace {

class Recorder final : public IncomingSink {
 public:
  void onIncoming(const Incoming& incoming) override {
    kinds.push_back(incoming.kind);
    texts.emplace_back(incoming.text);
  }
  void sendRaw(std::string_view bytes) override { sent.append(bytes); }
  void closeConnection(std::string_view reason) override { closed = std::string(reason); }
  std::vector<Incoming::Kind> kinds;
  std::vector<std::string> texts;
  std::string sent;
  std::string closed;
};

std::string serverFrame(std::uint8_t opcode, const std::string& payload, bool fin = true) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
  out.push_back(static_cast<char>(payload.size()));  // tests keep payloads under 126 bytes
  return out + payload;
}

std::string message(const std::string& from, const std::string& to, const std::string& msg) {
  return R"({"from":{"name":")" + from + R"(","ip":"127.0.0.1"},"to":")" + to + R"(","msg":")" +
         msg + R"("})";
}

// The key the driver sent, read back from its upgrade request.
std::string keyOf(const std::string& request) {
  const std::string field = "Sec-WebSocket-Key: ";
  const std::size_t start = request.find(field) + field.size();
  return request.substr(start, request.find("\r\n", start) - start);
}

std::string unmaskOnly(const std::string& frame) {
  std::string payload = frame.substr(6);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] ^= frame[2 + i % 4];
  return payload;
}

TEST(BenchWebSocketDriver, LoginIsTheUpgradeThenTheNameInOneMaskedFrame) {
  WebSocketDriver driver("127.0.0.1:8080", 3);
  std::string out;
  driver.appendLogin(out, "alice");
  const std::size_t head = out.find("\r\n\r\n") + 4;
  ASSERT_NE(head, std::string::npos + 4);
  EXPECT_TRUE(out.starts_with("GET /ws HTTP/1.1\r\n"));
  EXPECT_NE(out.find("Host: 127.0.0.1:8080\r\n"), std::string::npos);
  const std::string frame = out.substr(head);
  EXPECT_EQ(static_cast<std::uint8_t>(frame[0]), 0x81);
  EXPECT_EQ(static_cast<std::uint8_t>(frame[1]), 0x80 | 5);
  EXPECT_EQ(unmaskOnly(frame), "alice");
}

TEST(BenchWebSocketDriver, EachRequestIsOneMaskedTextFrameOfOneJsonObject) {
  WebSocketDriver driver("h:1", 3);
  std::string out;
  driver.appendDirect(out, "a", "b", "hi");
  EXPECT_EQ(static_cast<std::uint8_t>(out[0]), 0x81);
  EXPECT_EQ(unmaskOnly(out), message("a", "b", "hi"));
}

TEST(BenchWebSocketDriver, ReadsTheUpgradeThenFramesAsMessages) {
  WebSocketDriver driver("h:1", 3);
  std::string request;
  driver.appendLogin(request, "alice");
  const std::string response = "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: " +
                               WebSocketFraming::acceptFor(keyOf(request)) + "\r\n\r\n";
  const std::string welcome = serverFrame(0x1, message("SERVER", "alice", "Welcome alice!"));
  const std::string direct = serverFrame(0x1, message("bob", "alice", "hi"));
  const std::string input = response + welcome + direct;
  Recorder recorder;
  // Byte by byte: nothing is consumed until whole, and everything is read once.
  std::string pending;
  for (const char c : input) {
    pending.push_back(c);
    pending.erase(0, driver.parse(pending, recorder));
  }
  EXPECT_TRUE(pending.empty());
  ASSERT_EQ(recorder.kinds.size(), 2u);
  EXPECT_EQ(recorder.kinds[0], Incoming::Kind::kWelcome);
  EXPECT_EQ(recorder.kinds[1], Incoming::Kind::kDirect);
  EXPECT_EQ(recorder.texts[1], "hi");
  EXPECT_TRUE(recorder.closed.empty());
}

TEST(BenchWebSocketDriver, AWrongAcceptOrARefusedUpgradeIsAnError) {
  for (const std::string& response :
       {std::string("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: nope\r\n\r\n"),
        std::string("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")}) {
    WebSocketDriver driver("h:1", 3);
    Recorder recorder;
    EXPECT_EQ(driver.parse(response, recorder), response.size());
    ASSERT_EQ(recorder.kinds.size(), 1u);
    EXPECT_EQ(recorder.kinds[0], Incoming::Kind::kError);
  }
}

TEST(BenchWebSocketDriver, AnswersPingsWithPongsAndClosesOnClose) {
  WebSocketDriver driver("h:1", 3);
  Recorder recorder;
  const std::string input = serverFrame(0x9, "beat") + serverFrame(0x8, "\x03\xf0going");
  EXPECT_EQ(driver.parse(input, recorder), input.size());
  EXPECT_TRUE(recorder.kinds.empty());
  // A masked pong carrying the ping's payload, then a masked close echoing the code.
  ASSERT_GE(recorder.sent.size(), 10u);
  EXPECT_EQ(static_cast<std::uint8_t>(recorder.sent[0]), 0x8A);
  EXPECT_EQ(unmaskOnly(recorder.sent.substr(0, 10)), "beat");
  EXPECT_EQ(static_cast<std::uint8_t>(recorder.sent[10]), 0x88);
  EXPECT_EQ(unmaskOnly(recorder.sent.substr(10)), "\x03\xf0");
  EXPECT_NE(recorder.closed.find("1008"), std::string::npos);
}

TEST(BenchWebSocketDriver, JoinsFragmentsOnceTheLastHasArrived) {
  WebSocketDriver driver("h:1", 3);
  const std::string whole = message("bob", "alice", "fragmented");
  const std::string input = serverFrame(0x1, whole.substr(0, 10), false) +
                            serverFrame(0x9, "p") +  // a control frame between fragments
                            serverFrame(0x0, whole.substr(10, 20), false) +
                            serverFrame(0x0, whole.substr(30), true);
  Recorder recorder;
  const std::string partial = input.substr(0, input.size() - 1);
  EXPECT_EQ(driver.parse(partial, recorder), 0u);
  EXPECT_TRUE(recorder.kinds.empty());
  EXPECT_TRUE(recorder.sent.empty());
  EXPECT_EQ(driver.parse(input, recorder), input.size());
  ASSERT_EQ(recorder.kinds.size(), 1u);
  EXPECT_EQ(recorder.kinds[0], Incoming::Kind::kDirect);
  EXPECT_EQ(recorder.texts[0], "fragmented");
  EXPECT_EQ(static_cast<std::uint8_t>(recorder.sent[0]), 0x8A);  // the ping answered once
}

TEST(BenchWebSocketDriver, BadFramesCloseTheConnection) {
  WebSocketDriver driver("h:1", 3);
  Recorder recorder;
  std::string masked = serverFrame(0x1, "{}");
  masked[1] = static_cast<char>(masked[1] | 0x80);
  driver.parse(masked + "abcd", recorder);
  EXPECT_NE(recorder.closed.find("masked"), std::string::npos);

  Recorder binary;
  driver.parse(serverFrame(0x2, "x"), binary);
  ASSERT_EQ(binary.kinds.size(), 1u);
  EXPECT_EQ(binary.kinds[0], Incoming::Kind::kMalformed);

  Recorder interrupted;  // a new text message inside a fragmented one
  driver.parse(serverFrame(0x1, "{", false) + serverFrame(0x1, "}"), interrupted);
  EXPECT_NE(interrupted.closed.find("fragment"), std::string::npos);
}

}  // namespace
}  // namespace classchat::bench
