#include "protocol/message_parser.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace classchat::protocol {
namespace {

// A copy of `text` in a heap block of exactly its size, so that ASan reports any read
// past its end (simdjson needs padding; the parser must copy when there is none).
class ExactBuffer {
 public:
  explicit ExactBuffer(std::string_view text) : size_(text.size()), bytes_(new char[text.size()]) {
    std::memcpy(bytes_.get(), text.data(), text.size());
  }
  std::string_view view() const { return {bytes_.get(), size_}; }

 private:
  std::size_t size_;
  std::unique_ptr<char[]> bytes_;
};

// The result's views may point into the object (plain messages) or into the parser, so
// the buffers are kept for the whole test run.
ParseResult parseExact(MessageParser& parser, std::string_view text) {
  static std::vector<std::unique_ptr<ExactBuffer>> kept;
  kept.push_back(std::make_unique<ExactBuffer>(text));
  return parser.parse(kept.back()->view());
}

TEST(MessageParser, ParsesADirectMessage) {
  MessageParser parser;
  const ParseResult result =
      parseExact(parser, R"({"from":{"name":"alice","ip":"1.2.3.4"},"to":"bob","msg":"hi"})");
  ASSERT_TRUE(result.message) << result.error;
  EXPECT_TRUE(result.error.empty());
  EXPECT_TRUE(result.message->hasTo);
  EXPECT_EQ(result.message->to, "bob");
  ASSERT_TRUE(result.message->msg);
  EXPECT_EQ(*result.message->msg, "hi");
  EXPECT_FALSE(result.message->msgPresentButNotString);
  ASSERT_TRUE(result.message->fromName);
  EXPECT_EQ(*result.message->fromName, "alice");
}

TEST(MessageParser, DecodesEscapesAndUnicode) {
  MessageParser parser;
  const ParseResult result =
      parseExact(parser, R"({"to":"b\u006fb","msg":"a\"b\\c\nd \u00e9 \ud83d\ude00 {}"})");
  ASSERT_TRUE(result.message) << result.error;
  EXPECT_EQ(result.message->to, "bob");
  EXPECT_EQ(*result.message->msg, "a\"b\\c\nd \xC3\xA9 \xF0\x9F\x98\x80 {}");
}

TEST(MessageParser, FieldOrderAndExtraFieldsDoNotMatter) {
  MessageParser parser;
  const ParseResult result =
      parseExact(parser, R"({"extra":[1,2,{"x":null}],"msg":"m","to":"/list","from":7})");
  ASSERT_TRUE(result.message) << result.error;
  EXPECT_EQ(result.message->to, "/list");
  EXPECT_EQ(*result.message->msg, "m");
  EXPECT_FALSE(result.message->fromName);
}

TEST(MessageParser, MsgMayBeAbsentOrEmpty) {
  MessageParser parser;
  ParseResult result = parseExact(parser, R"({"to":"/time"})");
  ASSERT_TRUE(result.message) << result.error;
  EXPECT_FALSE(result.message->msg);
  EXPECT_FALSE(result.message->msgPresentButNotString);

  result = parseExact(parser, R"({"to":"/time","msg":""})");
  ASSERT_TRUE(result.message) << result.error;
  ASSERT_TRUE(result.message->msg);
  EXPECT_EQ(*result.message->msg, "");
}

TEST(MessageParser, MsgThatIsNotAStringIsFlagged) {
  MessageParser parser;
  for (std::string_view value : {"42", "null", "true", "[\"a\"]", "{\"t\":\"x\"}"}) {
    const ParseResult result =
        parseExact(parser, std::string(R"({"to":"bob","msg":)") + std::string(value) + "}");
    ASSERT_TRUE(result.message) << value << ": " << result.error;
    EXPECT_FALSE(result.message->msg) << value;
    EXPECT_TRUE(result.message->msgPresentButNotString) << value;
  }
}

TEST(MessageParser, MalformedJsonIsAnError) {
  MessageParser parser;
  for (std::string_view text :
       {R"({"to":"bob","msg":"hi")", R"({"to":"bob" "msg":"hi"})", R"({"to":bob})",
        R"({"to":"bob","msg":"hi",})", R"({'to':'bob'})", "{", R"({"to":"b\q"})", ""}) {
    const ParseResult result = parseExact(parser, text);
    EXPECT_FALSE(result.message) << text;
    EXPECT_NE(result.error.find("malformed JSON"), std::string::npos)
        << text << " -> " << result.error;
  }
}

TEST(MessageParser, TopLevelValueMustBeAnObject) {
  MessageParser parser;
  for (std::string_view text : {"[1,2]", R"("to")", "42", "null", "true"}) {
    const ParseResult result = parseExact(parser, text);
    EXPECT_FALSE(result.message) << text;
    EXPECT_EQ(result.error, "expected a JSON object") << text;
  }
}

TEST(MessageParser, ToIsRequired) {
  MessageParser parser;
  const ParseResult result = parseExact(parser, R"({"from":{"name":"a"},"msg":"hi"})");
  EXPECT_FALSE(result.message);
  EXPECT_NE(result.error.find("'to'"), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("no"), std::string::npos) << result.error;
}

TEST(MessageParser, ToMustBeAString) {
  MessageParser parser;
  for (std::string_view value : {"1", "null", "[\"bob\"]", "{\"name\":\"bob\"}", "false"}) {
    const ParseResult result =
        parseExact(parser, std::string(R"({"to":)") + std::string(value) + R"(,"msg":"hi"})");
    EXPECT_FALSE(result.message) << value;
    EXPECT_NE(result.error.find("'to' must be a string"), std::string::npos)
        << value << " -> " << result.error;
  }
}

TEST(MessageParser, InvalidUtf8IsNamedAsSuch) {
  MessageParser parser;
  for (std::string_view text :
       {"{\"to\":\"bob\",\"msg\":\"\xFF\"}", "{\"to\":\"bob\",\"msg\":\"\xC0\xAF\"}",
        "{\"to\":\"bob\",\"msg\":\"\xED\xA0\x80\"}", "{\"to\":\"b\xE2\x82\",\"msg\":\"x\"}"}) {
    const ParseResult result = parseExact(parser, text);
    EXPECT_FALSE(result.message);
    EXPECT_NE(result.error.find("UTF-8"), std::string::npos) << result.error;
  }
}

TEST(MessageParser, FromNameIsOnlyTakenWhenItIsAString) {
  MessageParser parser;
  ParseResult result = parseExact(parser, R"({"from":{"name":5},"to":"x"})");
  ASSERT_TRUE(result.message) << result.error;
  EXPECT_FALSE(result.message->fromName);

  result = parseExact(parser, R"({"from":"alice","to":"x"})");
  ASSERT_TRUE(result.message) << result.error;
  EXPECT_FALSE(result.message->fromName);

  result = parseExact(parser, R"({"from":{"ip":"1.1.1.1"},"to":"x"})");
  ASSERT_TRUE(result.message) << result.error;
  EXPECT_FALSE(result.message->fromName);

  result = parseExact(parser, R"({"from":{"ip":"1.1.1.1","name":"carol"},"to":"x"})");
  ASSERT_TRUE(result.message) << result.error;
  ASSERT_TRUE(result.message->fromName);
  EXPECT_EQ(*result.message->fromName, "carol");
}

TEST(MessageParser, RegistrationDoesNotNeedTo) {
  MessageParser parser;
  const ExactBuffer buffer(R"({"from":{"name":"alice","ip":"x"}})");
  ParseResult result = parser.parseForRegistration(buffer.view());
  ASSERT_TRUE(result.message) << result.error;
  EXPECT_FALSE(result.message->hasTo);
  ASSERT_TRUE(result.message->fromName);
  EXPECT_EQ(*result.message->fromName, "alice");

  const ExactBuffer withTo(R"({"from":{"name":"alice"},"to":"bob","msg":"hi"})");
  result = parser.parseForRegistration(withTo.view());
  ASSERT_TRUE(result.message) << result.error;
  EXPECT_TRUE(result.message->hasTo);
  EXPECT_EQ(result.message->to, "bob");
  EXPECT_EQ(*result.message->msg, "hi");
}

TEST(MessageParser, RegistrationStillChecksToAndJson) {
  MessageParser parser;
  const ExactBuffer badTo(R"({"from":{"name":"alice"},"to":3})");
  EXPECT_FALSE(parser.parseForRegistration(badTo.view()).message);
  const ExactBuffer bad(R"({"from":{"name":"alice"})");
  EXPECT_FALSE(parser.parseForRegistration(bad.view()).message);
}

TEST(MessageParser, ErrorsDoNotStartWithTheErrorPrefix) {
  MessageParser parser;
  for (std::string_view text : {"{", "[]", "{}", R"({"to":1})"}) {
    const ParseResult result = parseExact(parser, text);
    ASSERT_FALSE(result.message);
    EXPECT_FALSE(result.error.empty());
    EXPECT_NE(result.error.rfind("Error", 0), 0u) << result.error;
  }
}

TEST(MessageParser, OneParserHandlesManyMessagesOfAllKinds) {
  MessageParser parser;
  for (int i = 0; i < 5000; ++i) {
    const std::string to = "user" + std::to_string(i);
    const std::string msg(static_cast<std::size_t>(i % 300), static_cast<char>('a' + i % 26));
    switch (i % 4) {
      case 0: {
        const ParseResult result =
            parseExact(parser, R"({"to":")" + to + R"(","msg":")" + msg + R"("})");
        ASSERT_TRUE(result.message) << i << ": " << result.error;
        EXPECT_EQ(result.message->to, to);
        EXPECT_EQ(*result.message->msg, msg);
        break;
      }
      case 1:
        EXPECT_FALSE(parseExact(parser, R"({"to":")" + to).message) << i;
        break;
      case 2:
        EXPECT_FALSE(parseExact(parser, "[" + std::to_string(i) + "]").message) << i;
        break;
      case 3: {
        const ParseResult result = parseExact(parser, R"({"msg":")" + msg + R"(","to":")" + to +
                                                          R"(","from":{"name":")" + to + R"("}})");
        ASSERT_TRUE(result.message) << i << ": " << result.error;
        EXPECT_EQ(result.message->to, to);
        EXPECT_EQ(*result.message->fromName, to);
        break;
      }
    }
  }
}

TEST(MessageParser, LargeMessageAfterSmallOnes) {
  MessageParser parser;
  ASSERT_TRUE(parseExact(parser, R"({"to":"a"})").message);
  const std::string big(200 * 1024, 'z');
  const ParseResult result = parseExact(parser, R"({"to":"a","msg":")" + big + R"("})");
  ASSERT_TRUE(result.message) << result.error;
  EXPECT_EQ(*result.message->msg, big);
  ASSERT_TRUE(parseExact(parser, R"({"to":"b"})").message);
}

}  // namespace
}  // namespace classchat::protocol
