// One reconnecting hiredis connection on one loop (internal to src/hub).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "hub/redis_options.h"
#include "net/event_loop.h"

struct redisAsyncContext;

namespace classchat::hub {

class RedisLoopAdapter;

// Connects without blocking, notices the loss, and reconnects with backoff (the n-th delay
// is min(max, initial * 2^n) with +-20% jitter; it starts again from `initial` once a link
// came up). `onUp` and `onDown` run at a safe point (a zero-delay timer, after the loop's
// I/O dispatch), never inside a hiredis callback, so they may issue commands or destroy
// the link's owner. onDown follows only an onUp. The context's `data` is set to this link;
// `owner()` is the opaque pointer the owner's hiredis callbacks use.
//
// Thread-safety: the loop's thread only, including construction and destruction.
class RedisLink {
 public:
  RedisLink(net::EventLoop& loop, RedisEndpoint endpoint, void* owner, std::function<void()> onUp,
            std::function<void()> onDown);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Starts connecting (once; later losses reconnect by themselves).
  void start();
  // The live context, once onUp was delivered; nullptr otherwise.
  redisAsyncContext* context() const { return up_ ? context_ : nullptr; }
  bool isUp() const { return up_; }
  // Drops the live link (as a dead link detector does); reconnects with backoff. Must not
  // be called from inside a hiredis callback. hiredis fails the pending callbacks.
  void drop(const char* why);
  RedisLoopAdapter* adapter() const;
  void* owner() const { return owner_; }
  std::uint64_t connects() const { return connects_; }

  static RedisLink* of(const redisAsyncContext* context);

 private:
  static void handleConnect(const redisAsyncContext* context, int status);
  static void handleDisconnect(const redisAsyncContext* context, int status);
  void connect();
  void lost(bool wasUp, const char* why);
  void scheduleReconnect();
  void cancelTimers();

  net::EventLoop& loop_;
  RedisEndpoint endpoint_;
  void* owner_;
  std::function<void()> onUp_;
  std::function<void()> onDown_;
  redisAsyncContext* context_ = nullptr;  // ours to free while not null
  bool connected_ = false;                // hiredis reported the connect
  bool up_ = false;                       // onUp delivered and no loss since
  int attempts_ = 0;
  std::uint64_t connects_ = 0;
  net::TimerId reconnectTimer_ = 0;
  net::TimerId connectTimeout_ = 0;
  net::TimerId notifyTimer_ = 0;
  std::minstd_rand random_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace classchat::hub
