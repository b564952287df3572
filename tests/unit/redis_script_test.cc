#include "hub/redis_script.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hub/redis_connection.h"
#include "net/event_loop.h"
#include "net_test_support.h"
#include "redis_test_server.h"

namespace classchat::hub {
namespace {

using net::testing::eventuallyOnLoop;
using net::testing::runOnLoop;

TEST(RedisScriptTest, Sha1IsWhatRedisNamesTheScript) {
  EXPECT_EQ(RedisScript::sha1Hex("return 1"), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  testing::RedisServerProcess server;
  const RedisScript script("incr", "return redis.call('INCRBY', KEYS[1], ARGV[1])");
  EXPECT_EQ(server.command({"SCRIPT", "LOAD", script.source()}), script.sha1());
}

class RedisEvalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    thread_ = std::make_unique<net::testing::LoopThread>(loop_);
    runOnLoop(loop_, [this] {
      RedisConnection::Options options;
      options.endpoint.port = server_.port();
      connection_ = std::make_unique<RedisConnection>(loop_, options);
      connection_->setOnUp([this] { ++ups_; });
      connection_->start();
      return 0;
    });
  }
  void TearDown() override {
    runOnLoop(loop_, [this] {
      connection_.reset();
      return 0;
    });
    thread_.reset();
  }
  bool waitUp(int ups) {
    return eventuallyOnLoop(loop_, [this, ups] { return ups_ >= ups && connection_->isUp(); });
  }
  RedisReply eval(std::string key, std::string by) {
    auto reply = std::make_shared<std::optional<RedisReply>>();
    runOnLoop(loop_, [&] {
      return connection_->evalScript(script_, {key}, {by},
                                     [reply](const RedisReply& r) { *reply = r; });
    });
    EXPECT_TRUE(eventuallyOnLoop(loop_, [reply] { return reply->has_value(); }));
    return reply->value_or(RedisReply::unavailableError("no reply"));
  }
  std::string evalshaCalls() {
    const std::string info = server_.command({"INFO", "commandstats"});
    const auto at = info.find("cmdstat_evalsha:calls=");
    if (at == std::string::npos) return "0";
    const auto start = at + 22;
    return info.substr(start, info.find(',', start) - start);
  }

  testing::RedisServerProcess server_;
  const RedisScript script_{"incrby", "return redis.call('INCRBY', KEYS[1], ARGV[1])"};
  net::EventLoop loop_;
  std::unique_ptr<net::testing::LoopThread> thread_;
  std::unique_ptr<RedisConnection> connection_;
  int ups_ = 0;
};

TEST_F(RedisEvalTest, RunsWithEvalshaOnceKnown) {
  ASSERT_TRUE(waitUp(1));
  EXPECT_EQ(eval("n", "2").integer(), 2);  // first use: EVAL (caches it)
  EXPECT_EQ(evalshaCalls(), "0");
  EXPECT_EQ(eval("n", "3").integer(), 5);
  EXPECT_EQ(evalshaCalls(), "1");
}

TEST_F(RedisEvalTest, SurvivesScriptFlush) {
  ASSERT_TRUE(waitUp(1));
  EXPECT_EQ(eval("n", "1").integer(), 1);
  EXPECT_EQ(eval("n", "1").integer(), 2);
  EXPECT_EQ(server_.command({"SCRIPT", "FLUSH"}), "+OK");
  // EVALSHA meets NOSCRIPT and is retried as EVAL, invisibly to the caller.
  EXPECT_EQ(eval("n", "1").integer(), 3);
  EXPECT_EQ(eval("n", "1").integer(), 4);
  EXPECT_EQ(evalshaCalls(), "3");  // two after the flush: the failed one and the last one
}

TEST_F(RedisEvalTest, PipelinedEvalsAfterFlushAllSucceed) {
  ASSERT_TRUE(waitUp(1));
  EXPECT_EQ(eval("n", "1").integer(), 1);
  EXPECT_EQ(server_.command({"SCRIPT", "FLUSH"}), "+OK");
  auto results = std::make_shared<std::vector<RedisReply>>();
  runOnLoop(loop_, [&] {
    for (int i = 0; i < 20; ++i) {
      connection_->evalScript(script_, {"n"}, {"1"},
                              [results](const RedisReply& r) { results->push_back(r); });
    }
    return 0;
  });
  ASSERT_TRUE(eventuallyOnLoop(loop_, [&] { return results->size() == 20; }));
  for (const RedisReply& r : *results) EXPECT_TRUE(r.isInteger()) << r.str();
  EXPECT_EQ(server_.command({"GET", "n"}), "21");
}

TEST_F(RedisEvalTest, SurvivesARedisRestart) {
  ASSERT_TRUE(waitUp(1));
  EXPECT_EQ(eval("n", "1").integer(), 1);
  EXPECT_EQ(eval("n", "1").integer(), 2);
  server_.kill();
  ASSERT_TRUE(server_.start());
  ASSERT_TRUE(waitUp(2));
  EXPECT_EQ(eval("n", "5").integer(), 5);  // a fresh Redis: no data, no scripts
  EXPECT_EQ(eval("n", "5").integer(), 10);
}

TEST_F(RedisEvalTest, ScriptErrorsReachTheCaller) {
  ASSERT_TRUE(waitUp(1));
  const RedisReply reply = eval("n", "not-a-number");
  EXPECT_TRUE(reply.isError());
  EXPECT_FALSE(reply.unavailable());
}

}  // namespace
}  // namespace classchat::hub
