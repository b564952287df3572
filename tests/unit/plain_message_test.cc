#include "protocol/plain_message.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "protocol/message_parser.h"

namespace classchat::protocol {
namespace {

// The shortcut must say exactly what the full parser says, whenever it says anything.
void expectSameAsDom(std::string_view object) {
  ClientMessage plain;
  ASSERT_TRUE(parsePlainMessage(object, plain)) << object;
  MessageParser parser;
  const ParseResult dom = parser.parseWithDom(object, true);
  ASSERT_TRUE(dom.message) << dom.error;
  EXPECT_EQ(plain.to, dom.message->to) << object;
  EXPECT_EQ(plain.hasTo, dom.message->hasTo) << object;
  EXPECT_EQ(plain.msg, dom.message->msg) << object;
  EXPECT_EQ(plain.msgPresentButNotString, dom.message->msgPresentButNotString) << object;
  EXPECT_EQ(plain.fromName, dom.message->fromName) << object;
}

TEST(PlainMessage, ReadsTheCommonShapesLikeTheFullParser) {
  for (const std::string_view object : {
           R"({"from":{"name":"alice","ip":"10.0.0.5"},"to":"bob","msg":"hi"})",
           // Python's json.dumps puts a space after ':' and ','.
           R"({"from": {"name": "alice", "ip": "10.0.0.5"}, "to": "bob", "msg": "hi"})",
           "{\n  \"to\" :\t\"/list\" ,\r\n \"msg\": \"\"\n}",
           R"({"msg":"{not a brace}","to":"/shout","from":{"ip":"x","name":"z"}})",
           R"({"to":"bob"})",
           R"({"to":"bob","from":{}})",
           R"({"to":"bob","from":{"ip":"1.2.3.4"}})",
           "{\"to\":\"bob\",\"extra\":\"ignored\",\"msg\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\"}",
       }) {
    expectSameAsDom(object);
  }
}

TEST(PlainMessage, ViewsPointIntoTheObject) {
  const std::string object = R"({"to":"bob","msg":"hi"})";
  ClientMessage out;
  ASSERT_TRUE(parsePlainMessage(object, out));
  EXPECT_EQ(out.to.data(), object.data() + 7);
  EXPECT_EQ(out.msg->data(), object.data() + 19);
}

TEST(PlainMessage, LeavesEverythingElseToTheFullParser) {
  for (const std::string_view object : {
           R"({"to":"b\u006fb","msg":"hi"})",               // escape in a value
           R"({"t\u006f":"bob"})",                          // escape in a key
           R"({"to":"bob","msg":"a\"b"})",                  // escaped quote
           "{\"to\":\"bob\",\"msg\":\"tab\there\"}",        // raw control character
           R"({"to":"bob","msg":7})",                       // msg not a string
           R"({"to":7})",                                   // to not a string
           R"({"msg":"no to"})",                            // no to
           R"({"to":"a","to":"b"})",                        // repeated to
           R"({"to":"a","msg":"x","msg":"y"})",             // repeated msg
           R"({"to":"a","from":{"name":"x","name":"y"}})",  // repeated name
           R"({"to":"a","from":{"name":"x"},"from":{}})",   // repeated from
           R"({"to":"a","from":"alice"})",                  // from not an object
           R"({"to":"a","from":{"name":1}})",               // name not a string
           R"({"to":"a","extra":[1,2]})",                   // other value types
           R"({"to":"a","extra":null})",
           R"({"to":"a","x":{"y":"z"}})",  // nested object elsewhere
           R"({"to":"a",})",               // trailing comma
           R"({"to":"a" "msg":"b"})",      // missing comma
           R"({"to":"a"}})",               // bytes after the object
           R"({"to":"a")",                 // unterminated
           R"({"to:"a"})",                 // broken key
           R"({"to""a"})",                 // missing colon
           "",
           "{}",
           "[]",
           "{\"to\":\"bob\",\"msg\":\"\xC3\x28\"}",      // invalid UTF-8
           "{\"to\":\"bob\",\"msg\":\"\xED\xA0\x80\"}",  // encoded surrogate
       }) {
    ClientMessage out;
    EXPECT_FALSE(parsePlainMessage(object, out)) << object;
  }
}

TEST(PlainMessage, ParserGivesTheSameAnswerEitherWay) {
  // The malformed and odd cases above still get the full parser's verdict through parse().
  MessageParser parser;
  EXPECT_FALSE(parser.parse(R"({"to":"a",})").message);
  EXPECT_FALSE(parser.parse("{\"to\":\"bob\",\"msg\":\"\xC3\x28\"}").message);
  const ParseResult escaped = parser.parse(R"({"to":"b\u006fb","msg":"hi"})");
  ASSERT_TRUE(escaped.message);
  EXPECT_EQ(escaped.message->to, "bob");
  const ParseResult repeated = parser.parse(R"({"to":"a","to":"b"})");
  ASSERT_TRUE(repeated.message) << repeated.error;
  EXPECT_EQ(repeated.message->to, parser.parseWithDom(R"({"to":"a","to":"b"})", true).message->to);
}

}  // namespace
}  // namespace classchat::protocol
