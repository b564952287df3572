#include "bench/websocket_framing.h"

#include <gtest/gtest.h>

#include <string>

namespace classchat::bench {
namespace {

using Decode = WebSocketFraming::Decode;
using Handshake = WebSocketFraming::Handshake;

// A frame as a server writes it: final, unmasked.
std::string serverFrame(std::uint8_t opcode, const std::string& payload, bool fin = true) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
  const std::size_t size = payload.size();
  if (size < 126) {
    out.push_back(static_cast<char>(size));
  } else if (size <= 0xFFFF) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>(size >> 8));
    out.push_back(static_cast<char>(size & 0xFF));
  } else {
    out.push_back(static_cast<char>(127));
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((size >> (56 - 8 * i)) & 0xFF));
  }
  return out + payload;
}

// Reads back a masked client frame: checks the mask bit, returns the unmasked payload.
std::string unmask(const std::string& frame, std::size_t& header) {
  const auto b1 = static_cast<std::uint8_t>(frame[1]);
  EXPECT_TRUE(b1 & 0x80) << "client frames must be masked";
  std::uint64_t length = b1 & 0x7F;
  header = 2;
  if (length == 126) {
    length = static_cast<std::uint64_t>(static_cast<std::uint8_t>(frame[2])) << 8 |
             static_cast<std::uint8_t>(frame[3]);
    header = 4;
  } else if (length == 127) {
    length = 0;
    for (int i = 0; i < 8; ++i) length = length << 8 | static_cast<std::uint8_t>(frame[2 + i]);
    header = 10;
  }
  const std::string mask = frame.substr(header, 4);
  header += 4;
  EXPECT_EQ(frame.size(), header + length);
  std::string payload = frame.substr(header);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] ^= mask[i % 4];
  return payload;
}

TEST(BenchWebSocketFraming, AcceptMatchesTheRfcExample) {
  // RFC 6455 section 1.3.
  EXPECT_EQ(WebSocketFraming::acceptFor("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(BenchWebSocketFraming, KeyIsSixteenBytesOfBase64AndDependsOnTheSeed) {
  const std::string key = WebSocketFraming::makeKey(1);
  EXPECT_EQ(key.size(), 24u);
  EXPECT_EQ(key.substr(22), "==");
  EXPECT_NE(key, WebSocketFraming::makeKey(2));
  EXPECT_EQ(key, WebSocketFraming::makeKey(1));
}

TEST(BenchWebSocketFraming, UpgradeRequestHasTheRequiredHeadersAndNoOrigin) {
  std::string out;
  WebSocketFraming::appendUpgradeRequest(out, "127.0.0.1:8080", "abc");
  EXPECT_TRUE(out.starts_with("GET /ws HTTP/1.1\r\n"));
  EXPECT_NE(out.find("\r\nHost: 127.0.0.1:8080\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nConnection: Upgrade\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nSec-WebSocket-Key: abc\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Origin"), std::string::npos);
  EXPECT_TRUE(out.ends_with("\r\n\r\n"));
}

TEST(BenchWebSocketFraming, ChecksTheResponse) {
  const std::string accept = WebSocketFraming::acceptFor("k");
  const std::string ok =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nsec-websocket-accept: " +
      accept + "\r\n\r\n";
  std::size_t head = 0;
  std::string reason;
  EXPECT_EQ(WebSocketFraming::checkResponse(ok + "\x81", accept, head, reason),
            Handshake::kAccepted);
  EXPECT_EQ(head, ok.size());
  EXPECT_EQ(WebSocketFraming::checkResponse(ok.substr(0, ok.size() - 1), accept, head, reason),
            Handshake::kIncomplete);
  EXPECT_EQ(WebSocketFraming::checkResponse(ok, WebSocketFraming::acceptFor("other"), head, reason),
            Handshake::kRefused);
  EXPECT_NE(reason.find("Sec-WebSocket-Accept"), std::string::npos);
  EXPECT_EQ(WebSocketFraming::checkResponse("HTTP/1.1 403 Forbidden\r\n\r\n", accept, head, reason),
            Handshake::kRefused);
  EXPECT_NE(reason.find("403 Forbidden"), std::string::npos);
  EXPECT_EQ(WebSocketFraming::checkResponse(std::string(9000, 'H'), accept, head, reason),
            Handshake::kRefused);
}

TEST(BenchWebSocketFraming, MasksLikeTheRfcExample) {
  // RFC 6455 section 5.7: "Hello" masked with 37 fa 21 3d.
  const std::uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  std::string out;
  WebSocketFraming::appendFrame(out, WebSocketFraming::kText, "Hello", mask);
  EXPECT_EQ(out, std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11));
}

TEST(BenchWebSocketFraming, EncodesSevenSixteenAndSixtyFourBitLengths) {
  WebSocketFraming framing(7);
  for (const std::size_t size : {0u, 125u, 126u, 65535u, 65536u, 70000u}) {
    std::string payload(size, 'x');
    for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>('a' + i % 26);
    std::string out;
    framing.appendFrame(out, WebSocketFraming::kText, payload);
    EXPECT_EQ(static_cast<std::uint8_t>(out[0]), 0x81) << size;
    std::size_t header = 0;
    EXPECT_EQ(unmask(out, header), payload) << size;
    EXPECT_EQ(header, size < 126 ? 6u : size <= 0xFFFF ? 8u : 14u) << size;
  }
}

TEST(BenchWebSocketFraming, FreshMasksPerFrame) {
  WebSocketFraming framing(7);
  std::string a, b;
  framing.appendFrame(a, WebSocketFraming::kText, "same");
  framing.appendFrame(b, WebSocketFraming::kText, "same");
  EXPECT_NE(a.substr(2, 4), b.substr(2, 4));
}

TEST(BenchWebSocketFraming, DecodesServerFramesOfEveryLengthForm) {
  for (const std::size_t size : {0u, 5u, 125u, 126u, 300u, 65535u, 65536u, 70000u}) {
    const std::string payload(size, 'p');
    const std::string bytes = serverFrame(WebSocketFraming::kText, payload) + "next";
    WebSocketFraming::Frame frame;
    std::string error;
    ASSERT_EQ(WebSocketFraming::decode(bytes, 1 << 20, frame, error), Decode::kFrame) << size;
    EXPECT_EQ(frame.opcode, WebSocketFraming::kText);
    EXPECT_TRUE(frame.fin);
    EXPECT_EQ(frame.payload, payload);
    EXPECT_EQ(frame.size, bytes.size() - 4);
    // Every cut before the end is incomplete.
    for (const std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{3}, frame.size - 1}) {
      if (cut >= frame.size) continue;
      EXPECT_EQ(WebSocketFraming::decode(bytes.substr(0, cut), 1 << 20, frame, error),
                Decode::kIncomplete)
          << size << " cut at " << cut;
    }
  }
}

TEST(BenchWebSocketFraming, RefusesWhatAServerMayNotSend) {
  WebSocketFraming::Frame frame;
  std::string error;
  std::string masked = serverFrame(WebSocketFraming::kText, "hi");
  masked[1] = static_cast<char>(masked[1] | 0x80);
  EXPECT_EQ(WebSocketFraming::decode(masked + "mask", 100, frame, error), Decode::kError);
  std::string rsv = serverFrame(WebSocketFraming::kText, "hi");
  rsv[0] = static_cast<char>(rsv[0] | 0x40);
  EXPECT_EQ(WebSocketFraming::decode(rsv, 100, frame, error), Decode::kError);
  EXPECT_EQ(
      WebSocketFraming::decode(serverFrame(WebSocketFraming::kPing, "x", false), 100, frame, error),
      Decode::kError);
  EXPECT_EQ(WebSocketFraming::decode(serverFrame(WebSocketFraming::kPing, std::string(126, 'x')),
                                     1000, frame, error),
            Decode::kError);
  EXPECT_EQ(WebSocketFraming::decode(serverFrame(0x3, "x"), 100, frame, error), Decode::kError);
  EXPECT_EQ(WebSocketFraming::decode(serverFrame(WebSocketFraming::kText, std::string(101, 'x')),
                                     100, frame, error),
            Decode::kError);
  EXPECT_NE(error.find("101"), std::string::npos);
}

}  // namespace
}  // namespace classchat::bench
