// A Redis connection in SUBSCRIBE mode, owned by and used on one event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "hub/redis_options.h"
#include "net/event_loop.h"

struct redisAsyncContext;
struct redisReply;

namespace classchat::hub {

class RedisLink;

// Subscribes to a set of channels and calls onMessage for each message. Reconnects with
// backoff like RedisConnection; after every (re)connect it subscribes to the whole set
// again and, once Redis confirmed every channel, calls onResubscribed: messages published
// while the subscription was down are lost, so the owner reconciles there.
//
// A cut subscription is noticed at once when Redis closes the socket (CLIENT KILL TYPE
// pubsub, the pub/sub output-buffer limit): hiredis reads the EOF. A silently dead link
// (a host gone, a cable pulled) is noticed by a PING every pingInterval (allowed in RESP2
// subscribe mode; the answer is ["pong", ""]): when nothing has been read for deadAfter,
// the link is dropped and rebuilt. The PING is appended without a hiredis callback, since
// hiredis 0.14 cannot route a pong reply in subscribe mode and would keep one callback per
// PING forever; liveness is judged from bytes read instead.
//
// Thread-safety: none; everything on the loop's thread (nothing for TSan to see). The
// callbacks may destroy the subscriber.
class RedisSubscriber {
 public:
  // `channel` and `payload` are valid during the call only.
  using MessageCallback = std::function<void(std::string_view channel, std::string_view payload)>;

  struct Options {
    RedisEndpoint endpoint;
    std::chrono::milliseconds pingInterval{1000};
    std::chrono::milliseconds deadAfter{3000};
  };

  RedisSubscriber(net::EventLoop& loop, Options options, MessageCallback onMessage);
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  // Called each time the whole set is subscribed on a new link (the first time too).
  void setOnResubscribed(std::function<void()> callback) { onResubscribed_ = std::move(callback); }
  // Called when a subscribed link is lost (messages may be missed from here on).
  void setOnDown(std::function<void()> callback) { onDown_ = std::move(callback); }
  void start();

  // Adds or removes a channel. Takes effect now when up, and on every later link. Removing
  // the last channel stops its messages but keeps it subscribed on the wire until the next
  // link: hiredis 0.14 leaves subscribe mode when nothing is subscribed and would abort on
  // the answer to a PING already sent.
  void subscribe(std::string_view channel);
  void unsubscribe(std::string_view channel);

  // True once the current link has every channel of the set confirmed.
  bool isSubscribed() const { return subscribed_; }
  std::uint64_t resubscriptions() const { return resubscriptions_; }
  std::uint64_t linksDropped() const { return linksDropped_; }
  const std::set<std::string, std::less<>>& channels() const { return channels_; }

 private:
  static void handleReply(::redisAsyncContext* context, void* reply, void* privdata);
  void onReply(const ::redisReply& reply);
  void handleUp();
  void handleDown();
  void sendSubscribe(std::string_view verb, std::string_view channel);
  void healthCheck();

  net::EventLoop& loop_;
  Options options_;
  MessageCallback onMessage_;
  std::function<void()> onResubscribed_;
  std::function<void()> onDown_;
  std::unique_ptr<RedisLink> link_;
  std::set<std::string, std::less<>> channels_;
  std::size_t awaitingAcks_ = 0;  // SUBSCRIBE confirmations this link still waits for
  bool subscribed_ = false;
  bool wireSubscribed_ = false;  // a SUBSCRIBE went out on this link: PING is safe
  std::uint64_t resubscriptions_ = 0;
  std::uint64_t linksDropped_ = 0;
  net::TimerId healthTimer_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace classchat::hub
