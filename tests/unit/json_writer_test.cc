#include "protocol/json_writer.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <string_view>

#include "protocol/message_parser.h"
#include "protocol/names.h"
#include "protocol/wire.h"

namespace classchat::protocol {
namespace {

std::string jsonQuoted(std::string_view text) {
  std::string out;
  appendJsonString(out, text);
  return out;
}

// Parses a JSON string literal back with simdjson.
std::string unquote(std::string_view literal) {
  simdjson::dom::parser parser;
  const std::string document = "[" + std::string(literal) + "]";
  simdjson::dom::element root;
  EXPECT_EQ(parser.parse(document).get(root), simdjson::SUCCESS) << literal;
  std::string_view text;
  EXPECT_EQ(root.at(0).get_string().get(text), simdjson::SUCCESS) << literal;
  return std::string(text);
}

struct ParsedFrame {
  std::string fromName, fromIp, to, msg;
  std::size_t fields = 0;
};

// Parses one frame (newline included) and checks its shape: exactly from{name,ip}, to, msg.
ParsedFrame parseFrame(std::string_view frame) {
  ParsedFrame parsed;
  EXPECT_FALSE(frame.empty());
  EXPECT_EQ(frame.back(), '\n');
  EXPECT_EQ(frame.find('\n'), frame.size() - 1) << "only the terminator may be a raw newline";
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  const auto error = parser.parse(std::string(frame)).get_object().get(root);
  EXPECT_EQ(error, simdjson::SUCCESS) << frame;
  if (error) return parsed;
  parsed.fields = root.size();
  simdjson::dom::object from;
  EXPECT_EQ(root["from"].get_object().get(from), simdjson::SUCCESS);
  EXPECT_EQ(from.size(), 2u);
  std::string_view value;
  EXPECT_EQ(from["name"].get_string().get(value), simdjson::SUCCESS);
  parsed.fromName = value;
  EXPECT_EQ(from["ip"].get_string().get(value), simdjson::SUCCESS);
  parsed.fromIp = value;
  EXPECT_EQ(root["to"].get_string().get(value), simdjson::SUCCESS);
  parsed.to = value;
  EXPECT_EQ(root["msg"].get_string().get(value), simdjson::SUCCESS);
  parsed.msg = value;
  return parsed;
}

TEST(AppendJsonString, CopiesPlainTextBetweenQuotes) {
  EXPECT_EQ(jsonQuoted(""), R"("")");
  EXPECT_EQ(jsonQuoted("hello world"), R"("hello world")");
}

TEST(AppendJsonString, EscapesQuotesAndBackslashes) {
  EXPECT_EQ(jsonQuoted(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(jsonQuoted(R"(C:\path\)"), R"("C:\\path\\")");
  EXPECT_EQ(jsonQuoted(R"(\")"), R"("\\\"")");
}

TEST(AppendJsonString, EscapesCommonControlCharactersShortly) {
  EXPECT_EQ(jsonQuoted("a\nb"), R"("a\nb")");
  EXPECT_EQ(jsonQuoted("a\rb"), R"("a\rb")");
  EXPECT_EQ(jsonQuoted("a\tb"), R"("a\tb")");
  EXPECT_EQ(jsonQuoted("a\bb"), R"("a\bb")");
  EXPECT_EQ(jsonQuoted("a\fb"), R"("a\fb")");
}

TEST(AppendJsonString, EscapesEveryControlCharacterAndParsesBack) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string text = std::string("x") + static_cast<char>(c) + "y";
    const std::string literal = jsonQuoted(text);
    for (char byte : literal) {
      EXPECT_GE(static_cast<unsigned char>(byte), 0x20) << "raw control in output for " << c;
    }
    EXPECT_EQ(unquote(literal), text) << "control character " << c;
  }
  EXPECT_EQ(jsonQuoted(std::string_view("\0", 1)), R"("\u0000")");
  EXPECT_EQ(jsonQuoted("\x1f"), R"("\u001f")");
  EXPECT_EQ(jsonQuoted("\x0b"), R"("\u000b")");
}

TEST(AppendJsonString, PassesNonAsciiThrough) {
  const std::string emoji = "\xF0\x9F\x98\x80 caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \x7F";
  EXPECT_EQ(jsonQuoted(emoji), "\"" + emoji + "\"");
  EXPECT_EQ(unquote(jsonQuoted(emoji)), emoji);
}

TEST(AppendJsonString, AppendsWithoutClearing) {
  std::string out = "prefix:";
  appendJsonString(out, "a");
  EXPECT_EQ(out, R"(prefix:"a")");
}

TEST(AppendMessageFrame, IsCompactJsonWithOneTrailingNewline) {
  std::string out;
  appendMessageFrame(out, "alice", "127.0.0.1", "bob", "hi");
  EXPECT_EQ(out, R"({"from":{"name":"alice","ip":"127.0.0.1"},"to":"bob","msg":"hi"})"
                 "\n");
}

TEST(AppendMessageFrame, AppendsFramesBackToBack) {
  std::string out;
  appendMessageFrame(out, "a", "1", "b", "x");
  appendMessageFrame(out, "a", "1", "b", "y");
  EXPECT_EQ(out,
            "{\"from\":{\"name\":\"a\",\"ip\":\"1\"},\"to\":\"b\",\"msg\":\"x\"}\n"
            "{\"from\":{\"name\":\"a\",\"ip\":\"1\"},\"to\":\"b\",\"msg\":\"y\"}\n");
}

TEST(AppendMessageFrame, RoundTripsAwkwardValues) {
  std::string nasty = "quote\" backslash\\ newline\n tab\t nul";
  nasty.push_back('\0');
  nasty += " braces{} emoji\xF0\x9F\x8E\x89 \x01\x1f end";
  std::string out;
  appendMessageFrame(out, "n\"a\\me", "::1", "to\nwho", nasty);
  const ParsedFrame parsed = parseFrame(out);
  EXPECT_EQ(parsed.fields, 3u);
  EXPECT_EQ(parsed.fromName, "n\"a\\me");
  EXPECT_EQ(parsed.fromIp, "::1");
  EXPECT_EQ(parsed.to, "to\nwho");
  EXPECT_EQ(parsed.msg, nasty);
}

TEST(ServerFrame, HasTheExactWireShape) {
  EXPECT_EQ(serverFrame("alice", "Welcome alice!"),
            R"({"from":{"name":"SERVER","ip":"0.0.0.0"},"to":"alice","msg":"Welcome alice!"})"
            "\n");
  const ParsedFrame parsed = parseFrame(serverFrame("bob", "Error: \"x\""));
  EXPECT_EQ(parsed.fromName, kServerName);
  EXPECT_EQ(parsed.fromIp, kServerIp);
  EXPECT_EQ(parsed.to, "bob");
  EXPECT_EQ(parsed.msg, "Error: \"x\"");
}

TEST(ServerFrame, AppendingWritesTheSameBytesAfterWhatIsThere) {
  std::string out = "previous\n";
  appendServerFrame(out, "bob", "Error: \"x\"");
  EXPECT_EQ(out, "previous\n" + serverFrame("bob", "Error: \"x\""));
}

TEST(FrameOverheadBytes, IsTheSizeOfAFrameWithEmptyValues) {
  const std::string_view empty = R"({"from":{"name":"","ip":""},"to":"","msg":""})"
                                 "\n";
  EXPECT_EQ(frameOverheadBytes(), empty.size());
}

TEST(FrameOverheadBytes, PlusTheValuesGivesTheFrameSize) {
  for (std::string_view to : {"", "a", "alice", "abcdefghijklmnopqrstuvwxyz012345"}) {
    for (std::size_t msgBytes : {0u, 1u, 100u, 1000u}) {
      const std::string msg(msgBytes, 'm');
      EXPECT_EQ(serverFrame(to, msg).size(), frameOverheadBytes() + kServerName.size() +
                                                 kServerIp.size() + to.size() + msg.size());
    }
  }
}

// The server relays a message as it does in ChatLoop: the client's object parsed by
// MessageParser, then written with the sender's name and address and the recipient's name.
// Each unit below is one character of msg as a client may write it, repeated until the
// object reaches the limit; the bound must hold for all and be close for the worst.
TEST(MaxRelayedFrameBytes, BoundsTheFrameOfTheWorstMessageAtTheLimit) {
  constexpr std::size_t kLimit = 4096;
  const std::string name(kMaxNameLength, 'n');
  const std::string ip = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
  ASSERT_EQ(ip.size(), kMaxIpTextBytes);
  MessageParser parser;
  std::size_t largest = 0;
  for (std::string_view unit :
       {"x", R"(\u0001)", R"(\u001f)", R"(\u0000)", R"(\n)", R"(\t)", R"(\")", R"(\\)", R"(\/)",
        R"(\u00e9)", R"(\ud83d\ude00)", "\xf0\x9f\x98\x80", "\x7f", R"(\u007f)", "{", "}"}) {
    std::string object = R"({"to":")" + name + R"(","msg":")";
    while (object.size() + unit.size() + 2 <= kLimit) object += unit;
    object += R"("})";
    ASSERT_LE(object.size(), kLimit);
    const ParseResult parsed = parser.parse(object);
    ASSERT_TRUE(parsed.message && parsed.message->msg) << unit << ": " << parsed.error;
    std::string frame;
    appendMessageFrame(frame, name, ip, name, *parsed.message->msg);
    EXPECT_LE(frame.size(), maxRelayedFrameBytes(kLimit)) << unit;
    largest = std::max(largest, frame.size());
  }
  // Not a loose bound either: within the object's own envelope of the real worst case.
  EXPECT_LE(maxRelayedFrameBytes(kLimit) - largest, 64u);
}

// The bound rests on this: a control byte that the writer escapes as \u00XX cannot arrive
// raw inside a string, or msg could grow sixfold.
TEST(MaxRelayedFrameBytes, RawControlBytesInAStringAreRefusedByTheParser) {
  MessageParser parser;
  for (char control : {'\x01', '\x1f', '\n', '\0'}) {
    std::string object = R"({"to":"bob","msg":"a)";
    object += control;
    object += R"(b"})";
    EXPECT_FALSE(parser.parse(object).message) << static_cast<int>(control);
  }
  std::string escaped;
  appendJsonString(escaped, std::string(10, '\x01'));
  EXPECT_EQ(escaped.size(), 2 + 10 * 6u);  // what the writer would make of them
}

}  // namespace
}  // namespace classchat::protocol
