#include "hub/redis_subscriber.h"

#include <hiredis/async.h>

#include <string>
#include <utility>
#include <vector>

#include "hub/redis_link.h"
#include "hub/redis_loop_adapter.h"

namespace classchat::hub {
namespace {

constexpr char kPing[] = "*1\r\n$4\r\nPING\r\n";

std::string_view text(const redisReply* reply) {
  return reply->type == REDIS_REPLY_STRING ? std::string_view(reply->str, reply->len)
                                           : std::string_view();
}

}  // namespace

RedisSubscriber::RedisSubscriber(net::EventLoop& loop, Options options, MessageCallback onMessage)
    : loop_(loop), options_(std::move(options)), onMessage_(std::move(onMessage)) {
  link_ = std::make_unique<RedisLink>(
      loop_, options_.endpoint, this, [this] { handleUp(); }, [this] { handleDown(); });
}

RedisSubscriber::~RedisSubscriber() {
  loop_.assertInLoopThread();
  *alive_ = false;
  if (healthTimer_ != 0) loop_.cancelTimer(healthTimer_);
  link_.reset();
}

void RedisSubscriber::start() {
  link_->start();
  if (healthTimer_ == 0) {
    healthTimer_ = loop_.runAfter(options_.pingInterval, [this] { healthCheck(); });
  }
}

void RedisSubscriber::subscribe(std::string_view channel) {
  if (!channels_.emplace(channel).second) return;
  if (link_->context() == nullptr) return;  // the next link subscribes to the whole set
  if (!subscribed_) ++awaitingAcks_;
  sendSubscribe("SUBSCRIBE", channel);
}

void RedisSubscriber::unsubscribe(std::string_view channel) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) return;
  const std::string name = *it;
  channels_.erase(it);
  if (link_->context() != nullptr && !channels_.empty()) sendSubscribe("UNSUBSCRIBE", name);
}

void RedisSubscriber::sendSubscribe(std::string_view verb, std::string_view channel) {
  const char* argv[] = {verb.data(), channel.data()};
  const std::size_t lengths[] = {verb.size(), channel.size()};
  if (redisAsyncCommandArgv(link_->context(), &RedisSubscriber::handleReply, nullptr, 2, argv,
                            lengths) == REDIS_OK &&
      verb == "SUBSCRIBE") {
    wireSubscribed_ = true;
  }
}

void RedisSubscriber::handleUp() {
  subscribed_ = false;
  wireSubscribed_ = false;
  awaitingAcks_ = channels_.size();
  if (channels_.empty()) {
    subscribed_ = true;
    ++resubscriptions_;
    if (onResubscribed_) onResubscribed_();
    return;
  }
  // One SUBSCRIBE for the whole set: one command, one write.
  std::vector<const char*> argv{"SUBSCRIBE"};
  std::vector<std::size_t> lengths{9};
  for (const std::string& channel : channels_) {
    argv.push_back(channel.data());
    lengths.push_back(channel.size());
  }
  if (redisAsyncCommandArgv(link_->context(), &RedisSubscriber::handleReply, nullptr,
                            static_cast<int>(argv.size()), argv.data(),
                            lengths.data()) == REDIS_OK) {
    wireSubscribed_ = true;
  }
}

void RedisSubscriber::handleDown() {
  subscribed_ = false;
  wireSubscribed_ = false;
  awaitingAcks_ = 0;
  if (onDown_) onDown_();
}

void RedisSubscriber::handleReply(::redisAsyncContext* context, void* reply, void*) {
  RedisLink* link = RedisLink::of(context);
  // Null: the link is being torn down (hiredis calls every channel's callback once).
  if (link == nullptr || reply == nullptr) return;
  static_cast<RedisSubscriber*>(link->owner())->onReply(*static_cast<redisReply*>(reply));
}

void RedisSubscriber::onReply(const redisReply& reply) {
  // hiredis 0.14 may hand a pong (["pong", ""]) to whichever channel callback ran last, so
  // every reply is classified by its first element here.
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 3) return;
  const std::string_view kind = text(reply.element[0]);
  if (kind == "message") {
    const std::string_view channel = text(reply.element[1]);
    if (channels_.contains(channel)) onMessage_(channel, text(reply.element[2]));
  } else if (kind == "subscribe") {
    if (awaitingAcks_ > 0 && --awaitingAcks_ == 0 && !subscribed_) {
      subscribed_ = true;
      ++resubscriptions_;
      if (onResubscribed_) onResubscribed_();
    }
  }
}

void RedisSubscriber::healthCheck() {
  healthTimer_ = 0;
  redisAsyncContext* context = link_->context();
  RedisLoopAdapter* adapter = link_->adapter();
  if (context != nullptr && adapter != nullptr && wireSubscribed_) {
    if (net::Clock::now() - adapter->lastRead() > options_.deadAfter) {
      ++linksDropped_;
      auto alive = alive_;
      link_->drop("no answer to PING on the subscription");
      if (!*alive) return;
    } else {
      // Behind hiredis's back: no callback to keep (see the header).
      redisAppendFormattedCommand(&context->c, kPing, sizeof kPing - 1);
      adapter->wantWrite();
    }
  }
  healthTimer_ = loop_.runAfter(options_.pingInterval, [this] { healthCheck(); });
}

}  // namespace classchat::hub
