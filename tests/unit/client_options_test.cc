#include "client/options.h"

#include <gtest/gtest.h>

#include <vector>

namespace classchat::client {
namespace {

ParsedOptions parse(std::vector<const char*> args) {
  args.insert(args.begin(), "classchat");
  return parseOptions(static_cast<int>(args.size()), args.data());
}

TEST(ClientOptions, DefaultsAskForEverything) {
  const ParsedOptions parsed = parse({});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->host, "127.0.0.1");
  EXPECT_EQ(parsed.options->port, 65432);
  EXPECT_FALSE(parsed.options->hostGiven);
  EXPECT_FALSE(parsed.options->portGiven);
  EXPECT_TRUE(parsed.options->name.empty());
  EXPECT_FALSE(parsed.options->sendTo);
}

TEST(ClientOptions, GivenValuesAreMarked) {
  const ParsedOptions parsed =
      parse({"--host", "::1", "--port", "4000", "--name", "bot", "--no-color", "--reconnect"});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->host, "::1");
  EXPECT_TRUE(parsed.options->hostGiven);
  EXPECT_EQ(parsed.options->port, 4000);
  EXPECT_TRUE(parsed.options->portGiven);
  EXPECT_EQ(parsed.options->name, "bot");
  EXPECT_TRUE(parsed.options->noColor);
  EXPECT_TRUE(parsed.options->reconnect);
}

TEST(ClientOptions, SendTakesRecipientAndMessage) {
  const ParsedOptions parsed = parse({"--name", "bot", "--send", "bob", "hello there"});
  ASSERT_TRUE(parsed.options);
  ASSERT_TRUE(parsed.options->sendTo);
  EXPECT_EQ(*parsed.options->sendTo, "bob");
  EXPECT_EQ(parsed.options->sendMsg, "hello there");
}

TEST(ClientOptions, BadCommandLinesExitWithStatusTwo) {
  EXPECT_EQ(parse({"--port", "0"}).exitStatus, kExitUsage);
  EXPECT_EQ(parse({"--port", "70000"}).exitStatus, kExitUsage);
  EXPECT_EQ(parse({"--send", "bob"}).exitStatus, kExitUsage);
  EXPECT_EQ(parse({"--send", "bob", "x", "--listen"}).exitStatus, kExitUsage);
  EXPECT_EQ(parse({"--wait", "0"}).exitStatus, kExitUsage);
  EXPECT_EQ(parse({"--bogus"}).exitStatus, kExitUsage);
  EXPECT_FALSE(parse({"--bogus"}).options);
}

TEST(ClientOptions, HelpExitsWithZero) {
  const ParsedOptions parsed = parse({"--help"});
  EXPECT_FALSE(parsed.options);
  EXPECT_EQ(parsed.exitStatus, kExitOk);
}

}  // namespace
}  // namespace classchat::client
