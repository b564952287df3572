#include "protocol/server_message.h"

#include <gtest/gtest.h>

namespace classchat::protocol {
namespace {

TEST(ServerMessageParser, ReadsAllFourFields) {
  ServerMessageParser parser;
  const ServerParseResult result = parser.parse(
      R"({"from":{"name":"alice","ip":"10.0.0.5"},"to":"bob","msg":"say \"hi\" \u00e9"})");
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.message.fromName, "alice");
  EXPECT_EQ(result.message.fromIp, "10.0.0.5");
  EXPECT_EQ(result.message.to, "bob");
  EXPECT_EQ(result.message.msg, "say \"hi\" \xC3\xA9");
  EXPECT_FALSE(result.message.fromServer());
  EXPECT_FALSE(result.message.isShout());
}

TEST(ServerMessageParser, RecognisesServerRepliesErrorsAndShouts) {
  ServerMessageParser parser;
  const auto reply = parser.parse(
      R"({"from":{"name":"SERVER","ip":"0.0.0.0"},"to":"bob","msg":"Server time: 14:02:51"})");
  ASSERT_TRUE(reply.ok);
  EXPECT_TRUE(reply.message.fromServer());
  EXPECT_FALSE(reply.message.isError());

  const auto error = parser.parse(
      R"({"from":{"name":"SERVER","ip":"0.0.0.0"},"to":"bob","msg":"Error: user 'x' not found"})");
  ASSERT_TRUE(error.ok);
  EXPECT_TRUE(error.message.isError());

  const auto shout =
      parser.parse(R"({"from":{"name":"carol","ip":"::1"},"to":"Everyone","msg":"pizza"})");
  ASSERT_TRUE(shout.ok);
  EXPECT_TRUE(shout.message.isShout());
}

TEST(ServerMessageParser, MissingFieldsAreEmpty) {
  ServerMessageParser parser;
  const auto result = parser.parse(R"({"msg":"only text", "extra": [1, 2]})");
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(result.message.msg, "only text");
  EXPECT_TRUE(result.message.fromName.empty());
  EXPECT_TRUE(result.message.to.empty());
}

TEST(ServerMessageParser, RejectsNonObjectsAndWrongTypes) {
  ServerMessageParser parser;
  EXPECT_FALSE(parser.parse("[1,2]").ok);
  EXPECT_FALSE(parser.parse(R"({"to":"bob","msg":)").ok);
  EXPECT_FALSE(parser.parse(R"({"to":"bob","msg":42})").ok);
  const auto bad = parser.parse(R"({"from":{"name":7},"to":"bob","msg":"x"})");
  EXPECT_FALSE(bad.ok);
  EXPECT_FALSE(bad.error.empty());
}

}  // namespace
}  // namespace classchat::protocol
