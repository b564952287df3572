#include "hub/redis_connection.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/event_loop.h"
#include "net_test_support.h"
#include "redis_test_server.h"

namespace classchat::hub {
namespace {

using net::testing::eventuallyOnLoop;
using net::testing::runOnLoop;
using testing::RedisServerProcess;

class RedisConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override { thread_ = std::make_unique<net::testing::LoopThread>(loop_); }
  void TearDown() override {
    runOnLoop(loop_, [this] {
      connection_.reset();
      return 0;
    });
    thread_.reset();
  }
  void connect(RedisConnection::Options options = {}) {
    options.endpoint.port = server_.port();
    runOnLoop(loop_, [this, options] {
      connection_ = std::make_unique<RedisConnection>(loop_, options);
      connection_->setOnUp([this] { ++ups_; });
      connection_->setOnDown([this] { ++downs_; });
      connection_->start();
      return 0;
    });
  }
  bool waitUp(int ups) {
    return eventuallyOnLoop(loop_, [this, ups] { return ups_ >= ups && connection_->isUp(); });
  }
  // Runs one command and waits for its reply.
  RedisReply call(std::vector<std::string> argv) {
    auto reply = std::make_shared<std::optional<RedisReply>>();
    runOnLoop(loop_, [&] {
      std::vector<std::string_view> views(argv.begin(), argv.end());
      return connection_->command(views, [reply](const RedisReply& r) { *reply = r; });
    });
    EXPECT_TRUE(eventuallyOnLoop(loop_, [reply] { return reply->has_value(); }));
    return reply->value_or(RedisReply::unavailableError("no reply"));
  }

  RedisServerProcess server_;
  net::EventLoop loop_;
  std::unique_ptr<net::testing::LoopThread> thread_;
  std::unique_ptr<RedisConnection> connection_;
  int ups_ = 0;
  int downs_ = 0;
};

TEST_F(RedisConnectionTest, RoundTripIsBinarySafe) {
  connect();
  ASSERT_TRUE(waitUp(1));
  const std::string value("a\0b\r\nc", 6);
  EXPECT_EQ(call({"SET", "key", value}).str(), "OK");
  const RedisReply got = call({"GET", "key"});
  EXPECT_TRUE(got.isString());
  EXPECT_EQ(got.str(), value);
  EXPECT_TRUE(call({"GET", "missing"}).isNil());
  const RedisReply error = call({"INCR", "key"});
  EXPECT_TRUE(error.isError());
  EXPECT_FALSE(error.unavailable());
  EXPECT_TRUE(call({"subscribe", "channel"}).unavailable());  // RedisSubscriber's job
  EXPECT_EQ(call({"PING"}).str(), "PONG");
}

TEST_F(RedisConnectionTest, TenThousandPipelinedCommandsAnswerInOrderInFewWrites) {
  connect();
  ASSERT_TRUE(waitUp(1));
  constexpr int kCommands = 10'000;
  auto values = std::make_shared<std::vector<std::int64_t>>();
  const std::uint64_t writesBefore = runOnLoop(loop_, [&] {
    const std::uint64_t before = connection_->linkWriteEvents();
    const std::uint64_t iteration = loop_.iterations();
    for (int i = 0; i < kCommands; ++i) {
      EXPECT_TRUE(connection_->command(
          {"INCR", "counter"}, [values](const RedisReply& r) { values->push_back(r.integer()); }));
    }
    EXPECT_EQ(loop_.iterations(), iteration);  // all issued within one iteration
    EXPECT_EQ(connection_->pendingCommands(), static_cast<std::size_t>(kCommands));
    return before;
  });
  ASSERT_TRUE(eventuallyOnLoop(loop_, [&] { return values->size() == kCommands; }));
  for (int i = 0; i < kCommands; ++i) ASSERT_EQ((*values)[i], i + 1);
  // 270 KB went out; one write(2) per write event, each taking all that was buffered
  // (measured: 1 on loopback, 2026-12-01; a short write would add one or two).
  const std::uint64_t writes = runOnLoop(loop_, [&] { return connection_->linkWriteEvents(); });
  EXPECT_LE(writes - writesBefore, 4u);
  EXPECT_EQ(runOnLoop(loop_, [&] { return connection_->pendingBytes(); }), 0u);
}

TEST_F(RedisConnectionTest, DownAtStartFailsOnceThenConnectsWhenRedisComes) {
  server_.stop();
  connect();
  auto calls = std::make_shared<int>(0);
  auto unavailable = std::make_shared<bool>(false);
  const bool accepted = runOnLoop(loop_, [&] {
    auto insideCommand = std::make_shared<bool>(true);
    const bool ok = connection_->command({"PING"}, [=](const RedisReply& r) {
      ++*calls;
      *unavailable = r.unavailable() && !*insideCommand;
    });
    *insideCommand = false;
    return ok;
  });
  EXPECT_FALSE(accepted);
  ASSERT_TRUE(eventuallyOnLoop(loop_, [&] { return *calls == 1; }));
  EXPECT_TRUE(*unavailable);  // never called from inside command()
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a few failed reconnects
  EXPECT_EQ(runOnLoop(loop_, [&] { return ups_; }), 0);
  ASSERT_TRUE(server_.start());
  ASSERT_TRUE(waitUp(1));
  EXPECT_EQ(call({"PING"}).str(), "PONG");
  EXPECT_EQ(*calls, 1);
}

TEST_F(RedisConnectionTest, KillMidFlightFailsPendingOnceAndReconnects) {
  connect();
  ASSERT_TRUE(waitUp(1));
  auto replies = std::make_shared<std::vector<RedisReply>>();
  runOnLoop(loop_, [&] {
    for (int i = 0; i < 3; ++i) {
      connection_->command({"BLPOP", "nothing", "30"},
                           [replies](const RedisReply& r) { replies->push_back(r); });
    }
    return 0;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // written and blocking
  server_.kill();
  ASSERT_TRUE(eventuallyOnLoop(loop_, [&] { return replies->size() == 3 && downs_ == 1; }));
  for (const RedisReply& r : *replies) EXPECT_TRUE(r.unavailable()) << r.str();
  EXPECT_FALSE(runOnLoop(loop_, [&] { return connection_->isUp(); }));
  ASSERT_TRUE(server_.start());
  ASSERT_TRUE(waitUp(2));
  EXPECT_EQ(call({"PING"}).str(), "PONG");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(runOnLoop(loop_, [&] { return replies->size(); }), 3u);  // exactly once
}

TEST_F(RedisConnectionTest, DestroyingFailsPendingCommandsOnce) {
  connect();
  ASSERT_TRUE(waitUp(1));
  auto calls = std::make_shared<int>(0);
  runOnLoop(loop_, [&] {
    connection_->command({"BLPOP", "nothing", "30"}, [calls](const RedisReply& r) {
      EXPECT_TRUE(r.unavailable());
      ++*calls;
    });
    return 0;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  runOnLoop(loop_, [&] {
    connection_.reset();
    return 0;
  });
  EXPECT_EQ(*calls, 1);
}

TEST_F(RedisConnectionTest, PastThePendingBoundCommandsFailAtOnce) {
  RedisConnection::Options options;
  options.maxPendingCommands = 10;
  connect(options);
  ASSERT_TRUE(waitUp(1));
  auto refusedErrors = std::make_shared<int>(0);
  auto answered = std::make_shared<int>(0);
  const int accepted = runOnLoop(loop_, [&] {
    int count = 0;
    for (int i = 0; i < 15; ++i) {
      count += connection_->command({"PING"}, [=](const RedisReply& r) {
        if (r.unavailable()) {
          ++*refusedErrors;
        } else {
          ++*answered;
        }
      });
    }
    return count;
  });
  EXPECT_EQ(accepted, 10);
  ASSERT_TRUE(eventuallyOnLoop(loop_, [&] { return *refusedErrors + *answered == 15; }));
  EXPECT_EQ(*refusedErrors, 5);
  EXPECT_EQ(*answered, 10);
  // The bound frees up as replies come.
  EXPECT_EQ(call({"PING"}).str(), "PONG");
}

TEST_F(RedisConnectionTest, BytesBoundRefusesLargeCommands) {
  RedisConnection::Options options;
  options.maxPendingBytes = 1024;
  connect(options);
  ASSERT_TRUE(waitUp(1));
  const RedisReply refused = call({"SET", "big", std::string(2000, 'x')});
  EXPECT_TRUE(refused.unavailable());
  EXPECT_EQ(call({"SET", "small", "x"}).str(), "OK");
}

TEST_F(RedisConnectionTest, ASilentRedisFailsPendingAfterTheReplyTimeout) {
  RedisConnection::Options options;
  options.replyTimeout = std::chrono::milliseconds(300);
  connect(options);
  ASSERT_TRUE(waitUp(1));
  server_.pause();  // sockets stay open, nothing is answered
  auto reply = std::make_shared<std::optional<RedisReply>>();
  runOnLoop(loop_, [&] {
    return connection_->command({"PING"}, [reply](const RedisReply& r) { *reply = r; });
  });
  const bool failed = eventuallyOnLoop(
      loop_, [&] { return reply->has_value() && downs_ == 1; }, std::chrono::seconds(3));
  server_.resume();
  ASSERT_TRUE(failed);
  EXPECT_TRUE((*reply)->unavailable());
  ASSERT_TRUE(waitUp(2));
  EXPECT_EQ(call({"PING"}).str(), "PONG");
}

TEST_F(RedisConnectionTest, ACallbackMayDestroyTheConnection) {
  connect();
  ASSERT_TRUE(waitUp(1));
  auto order = std::make_shared<std::vector<std::string>>();
  runOnLoop(loop_, [&] {
    connection_->command({"PING"}, [this, order](const RedisReply& r) {
      order->push_back(r.str());
      connection_.reset();  // inside hiredis's reply callback
    });
    for (int i = 0; i < 3; ++i) {
      connection_->command({"BLPOP", "nothing", "1"}, [order](const RedisReply& r) {
        order->push_back(r.unavailable() ? "unavailable" : r.str());
      });
    }
    return 0;
  });
  ASSERT_TRUE(eventuallyOnLoop(loop_, [&] { return order->size() == 4; }));
  EXPECT_EQ((*order)[0], "PONG");
  for (int i = 1; i < 4; ++i) EXPECT_EQ((*order)[i], "unavailable");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(runOnLoop(loop_, [&] { return order->size(); }), 4u);
}

TEST_F(RedisConnectionTest, OnDownMayDestroyTheConnection) {
  connect();
  ASSERT_TRUE(waitUp(1));
  runOnLoop(loop_, [&] {
    connection_->setOnDown([this] {
      ++downs_;
      connection_.reset();
    });
    return 0;
  });
  server_.kill();
  ASSERT_TRUE(eventuallyOnLoop(loop_, [&] { return downs_ == 1 && connection_ == nullptr; }));
}

}  // namespace
}  // namespace classchat::hub
