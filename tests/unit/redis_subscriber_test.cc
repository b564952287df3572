#include "hub/redis_subscriber.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/event_loop.h"
#include "net_test_support.h"
#include "redis_test_server.h"

namespace classchat::hub {
namespace {

using net::testing::eventuallyOnLoop;
using net::testing::runOnLoop;

class RedisSubscriberTest : public ::testing::Test {
 protected:
  void SetUp() override { thread_ = std::make_unique<net::testing::LoopThread>(loop_); }
  void TearDown() override {
    runOnLoop(loop_, [this] {
      subscriber_.reset();
      return 0;
    });
    thread_.reset();
  }
  void subscribe(std::vector<std::string> channels, RedisSubscriber::Options options = {}) {
    options.endpoint.port = server_.port();
    runOnLoop(loop_, [&] {
      subscriber_ = std::make_unique<RedisSubscriber>(
          loop_, options, [this](std::string_view channel, std::string_view payload) {
            messages_.emplace_back(channel, payload);
          });
      subscriber_->setOnResubscribed([this] { ++resubscribed_; });
      subscriber_->setOnDown([this] { ++downs_; });
      for (const std::string& channel : channels) subscriber_->subscribe(channel);
      subscriber_->start();
      return 0;
    });
  }
  bool waitResubscribed(int count) {
    return eventuallyOnLoop(
        loop_, [this, count] { return resubscribed_ >= count && subscriber_->isSubscribed(); });
  }
  // Publishes until the subscriber got `payload` on `channel` (a PUBLISH that raced a
  // resubscription may be lost, which is the documented behaviour).
  bool deliver(const std::string& channel, const std::string& payload) {
    const std::pair<std::string, std::string> wanted(channel, payload);
    for (int attempt = 0; attempt < 50; ++attempt) {
      server_.command({"PUBLISH", channel, payload});
      if (eventuallyOnLoop(
              loop_,
              [&] {
                return std::find(messages_.begin(), messages_.end(), wanted) != messages_.end();
              },
              std::chrono::milliseconds(100))) {
        return true;
      }
    }
    return false;
  }

  testing::RedisServerProcess server_;
  net::EventLoop loop_;
  std::unique_ptr<net::testing::LoopThread> thread_;
  std::unique_ptr<RedisSubscriber> subscriber_;
  std::vector<std::pair<std::string, std::string>> messages_;
  int resubscribed_ = 0;
  int downs_ = 0;
};

TEST_F(RedisSubscriberTest, ReceivesMessagesOnItsChannelsOnly) {
  subscribe({"a", "b"});
  ASSERT_TRUE(waitResubscribed(1));
  EXPECT_EQ(server_.command({"PUBLISH", "a", std::string("x\0y", 3)}), ":1");
  EXPECT_EQ(server_.command({"PUBLISH", "other", "z"}), ":0");
  EXPECT_EQ(server_.command({"PUBLISH", "b", "2"}), ":1");
  ASSERT_TRUE(eventuallyOnLoop(loop_, [&] { return messages_.size() == 2; }));
  EXPECT_EQ(messages_[0], std::make_pair(std::string("a"), std::string("x\0y", 3)));
  EXPECT_EQ(messages_[1], std::make_pair(std::string("b"), std::string("2")));
}

TEST_F(RedisSubscriberTest, SubscribesAndUnsubscribesWhileUp) {
  subscribe({"a"});
  ASSERT_TRUE(waitResubscribed(1));
  runOnLoop(loop_, [&] {
    subscriber_->subscribe("c");
    subscriber_->unsubscribe("a");
    return 0;
  });
  ASSERT_TRUE(deliver("c", "1"));
  EXPECT_EQ(server_.command({"PUBLISH", "a", "lost"}), ":0");
}

TEST_F(RedisSubscriberTest, ResubscribesAfterClientKillTypePubsub) {
  subscribe({"a"});
  ASSERT_TRUE(waitResubscribed(1));
  const auto killedAt = std::chrono::steady_clock::now();
  EXPECT_EQ(server_.command({"CLIENT", "KILL", "TYPE", "pubsub"}), ":1");
  ASSERT_TRUE(waitResubscribed(2));
  // Noticed at once (EOF), back after the first backoff (100 ms +-20%).
  EXPECT_LT(std::chrono::steady_clock::now() - killedAt, std::chrono::seconds(1));
  EXPECT_EQ(runOnLoop(loop_, [&] { return downs_; }), 1);
  ASSERT_TRUE(deliver("a", "after kill"));
}

TEST_F(RedisSubscriberTest, ResubscribesAfterARedisRestart) {
  subscribe({"a", "b"});
  ASSERT_TRUE(waitResubscribed(1));
  server_.kill();
  ASSERT_TRUE(eventuallyOnLoop(loop_, [&] { return downs_ == 1; }));
  EXPECT_FALSE(runOnLoop(loop_, [&] { return subscriber_->isSubscribed(); }));
  ASSERT_TRUE(server_.start());
  ASSERT_TRUE(waitResubscribed(2));
  ASSERT_TRUE(deliver("b", "after restart"));
}

TEST_F(RedisSubscriberTest, PingKeepsAHealthyLinkAndDropsASilentOne) {
  RedisSubscriber::Options options;
  options.pingInterval = std::chrono::milliseconds(100);
  options.deadAfter = std::chrono::milliseconds(400);
  subscribe({"a"}, options);
  ASSERT_TRUE(waitResubscribed(1));
  // Quiet but alive: the pongs keep it up.
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_EQ(runOnLoop(loop_, [&] { return subscriber_->linksDropped(); }), 0u);
  ASSERT_TRUE(deliver("a", "still here"));
  // A silent peer (sockets open, nothing answered) is dropped within deadAfter + interval.
  server_.pause();
  const bool dropped = eventuallyOnLoop(
      loop_, [&] { return subscriber_->linksDropped() >= 1; }, std::chrono::seconds(3));
  server_.resume();
  ASSERT_TRUE(dropped);
  ASSERT_TRUE(waitResubscribed(2));
  ASSERT_TRUE(deliver("a", "back"));
}

}  // namespace
}  // namespace classchat::hub
