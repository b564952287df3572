#include "server/options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/json_writer.h"

namespace classchat::server {
namespace {

struct Parsed {
  std::optional<ServerOptions> options;
  int exitCode = -1;
};

Parsed parse(std::vector<std::string> args) {
  args.insert(args.begin(), "classchatd");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  Parsed parsed;
  parsed.options = parseOptions(static_cast<int>(argv.size()), argv.data(), parsed.exitCode);
  return parsed;
}

void expectUsageError(std::vector<std::string> args) {
  std::string shown;
  for (const std::string& arg : args) shown += arg + " ";
  const Parsed parsed = parse(std::move(args));
  EXPECT_FALSE(parsed.options) << shown;
  EXPECT_EQ(parsed.exitCode, 2) << shown;
}

TEST(ServerOptions, DefaultsAreWorkable) {
  const Parsed parsed = parse({});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->nameWait, std::chrono::milliseconds(100));
  EXPECT_EQ(unworkableSetting(*parsed.options), "");
}

TEST(ServerOptions, UnknownFlagsAndBadValuesExitWithTwo) {
  expectUsageError({"--bogus"});
  expectUsageError({"--port", "notaport"});
  expectUsageError({"--max-message-bytes", "10"});  // below CLI11's range check
  expectUsageError({"--log-level", "loud"});
}

TEST(ServerOptions, ClusterModeIsOffByDefaultAndTakesHostPort) {
  const Parsed off = parse({});
  ASSERT_TRUE(off.options);
  EXPECT_FALSE(off.options->cluster());
  const Parsed on =
      parse({"--redis", "127.0.0.1:6390", "--node-lease", "2.5", "--redis-prefix", "class7:"});
  ASSERT_TRUE(on.options);
  EXPECT_TRUE(on.options->cluster());
  EXPECT_EQ(on.options->redisHost, "127.0.0.1");
  EXPECT_EQ(on.options->redisPort, 6390);
  EXPECT_EQ(on.options->nodeLease, std::chrono::milliseconds(2500));
  EXPECT_EQ(on.options->redisPrefix, "class7:");
  const Parsed v6 = parse({"--redis", "[::1]:7000"});
  ASSERT_TRUE(v6.options);
  EXPECT_EQ(v6.options->redisHost, "::1");
  EXPECT_EQ(parse({"--redis", "redis.local:6379"}).options->redisHost, "redis.local");
  for (const char* bad : {"6379", "host:", ":6379", "host:0", "host:65536", "::1:6379", "h:63x"}) {
    expectUsageError({"--redis", bad});
  }
  expectUsageError({"--redis", "127.0.0.1:6379", "--node-lease", "0"});
  expectUsageError({"--redis", "127.0.0.1:6379", "--node-lease", "nan"});
  expectUsageError({"--redis", "127.0.0.1:6379", "--redis-prefix", "a b"});
}

TEST(ServerOptions, ShoutBatchingIsOffAloneAndTenMillisecondsInAClusterUnlessGiven) {
  using std::chrono::microseconds;
  EXPECT_EQ(parse({}).options->shoutBatchWindow, microseconds(0));
  EXPECT_EQ(parse({"--redis", "127.0.0.1:6390"}).options->shoutBatchWindow, microseconds(10'000));
  EXPECT_EQ(parse({"--redis", "127.0.0.1:6390", "--shout-batch-ms", "0"}).options->shoutBatchWindow,
            microseconds(0));
  EXPECT_EQ(parse({"--shout-batch-ms", "2.5"}).options->shoutBatchWindow, microseconds(2'500));
  expectUsageError({"--shout-batch-ms", "-1"});
  expectUsageError({"--shout-batch-ms", "1001"});
  expectUsageError({"--shout-batch-ms", "nan"});
}

TEST(ServerOptions, HelpExitsWithZero) {
  const Parsed parsed = parse({"--help"});
  EXPECT_FALSE(parsed.options);
  EXPECT_EQ(parsed.exitCode, 0);
}

TEST(ServerOptions, DurationsThatWouldOverflowOrAreNotNumbersAreRefused) {
  for (const char* flag : {"--handshake-timeout", "--idle-timeout", "--shutdown-grace"}) {
    for (const char* value : {"1e300", "1e10", "inf", "nan", "-1", "-0.5", "5s"}) {
      expectUsageError({flag, value});
    }
    const Parsed largest = parse({flag, "1e9"});
    ASSERT_TRUE(largest.options) << flag;
  }
  const Parsed parsed = parse({"--idle-timeout", "1e9"});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->idleTimeout, std::chrono::milliseconds(1'000'000'000'000));
}

TEST(ServerOptions, RatesMustBeFinite) {
  for (const char* flag : {"--rate-limit", "--shout-rate"}) {
    for (const char* value : {"inf", "nan", "1e300", "-1"}) expectUsageError({flag, value});
    EXPECT_TRUE(parse({flag, "0"}).options) << flag;  // 0: unlimited
  }
  for (const char* flag : {"--rate-burst", "--shout-burst"}) {
    // Below one token no message could ever pass.
    for (const char* value : {"inf", "nan", "0", "0.5"}) expectUsageError({flag, value});
    EXPECT_TRUE(parse({flag, "1"}).options) << flag;
  }
}

TEST(ServerOptions, ASubMillisecondTimeoutIsNotTurnedIntoNoLimit) {
  const Parsed parsed = parse({"--handshake-timeout", "0.0001", "--name-wait-ms", "0"});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->handshakeTimeout, std::chrono::milliseconds(1));
}

TEST(ServerOptions, OutputLimitMustHoldTheLargestRelayedFrame) {
  const std::size_t frame = protocol::maxRelayedFrameBytes(1'000'000);
  expectUsageError({"--max-message-bytes", "1000000", "--max-output-bytes", "1000000"});
  expectUsageError(
      {"--max-message-bytes", "1000000", "--max-output-bytes", std::to_string(frame - 1)});
  const Parsed parsed =
      parse({"--max-message-bytes", "1000000", "--max-output-bytes", std::to_string(frame)});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->maxOutputBytes, frame);
}

TEST(ServerOptions, NameWaitMustBeShorterThanTheHandshakeTimeout) {
  expectUsageError({"--handshake-timeout", "0.1", "--name-wait-ms", "100"});
  expectUsageError({"--name-wait-ms", "10001"});
  EXPECT_TRUE(parse({"--handshake-timeout", "0.1", "--name-wait-ms", "99"}).options);
  // No handshake timeout: any wait is fine.
  EXPECT_TRUE(parse({"--handshake-timeout", "0", "--name-wait-ms", "10000"}).options);
  const Parsed off = parse({"--name-wait-ms", "0"});
  ASSERT_TRUE(off.options);
  EXPECT_EQ(off.options->nameWait.count(), 0);
}

TEST(ServerOptions, UnworkableSettingExplainsItself) {
  ServerOptions options;
  options.maxMessageBytes = 2 << 20;
  options.maxOutputBytes = 1 << 20;
  const std::string problem = unworkableSetting(options);
  EXPECT_NE(problem.find("--max-output-bytes 1048576"), std::string::npos) << problem;
  EXPECT_NE(problem.find("slow consumer"), std::string::npos) << problem;
}

}  // namespace
}  // namespace classchat::server
