#include "hub/redis_link.h"

#include <hiredis/async.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "hub/redis_loop_adapter.h"

namespace classchat::hub {

RedisLink::RedisLink(net::EventLoop& loop, RedisEndpoint endpoint, void* owner,
                     std::function<void()> onUp, std::function<void()> onDown)
    : loop_(loop),
      endpoint_(std::move(endpoint)),
      owner_(owner),
      onUp_(std::move(onUp)),
      onDown_(std::move(onDown)),
      random_(std::random_device{}()) {}

RedisLink::~RedisLink() {
  *alive_ = false;
  cancelTimers();
  if (context_ != nullptr) {
    // Detached first, so that what hiredis runs while freeing it (now, or after the reply
    // callback we may be inside of returns) reaches neither this link nor its owner.
    context_->data = nullptr;
    context_->onConnect = nullptr;
    context_->onDisconnect = nullptr;
    redisAsyncFree(std::exchange(context_, nullptr));
  }
}

RedisLink* RedisLink::of(const redisAsyncContext* context) {
  return static_cast<RedisLink*>(context->data);
}

RedisLoopAdapter* RedisLink::adapter() const {
  return context_ != nullptr ? RedisLoopAdapter::of(context_) : nullptr;
}

void RedisLink::start() {
  if (context_ == nullptr && reconnectTimer_ == 0) connect();
}

void RedisLink::connect() {
  redisAsyncContext* context = redisAsyncConnect(endpoint_.host.c_str(), endpoint_.port);
  if (context == nullptr || context->err != 0) {
    spdlog::debug("redis: cannot connect to {}:{}: {}", endpoint_.host, endpoint_.port,
                  context != nullptr ? context->errstr : "out of memory");
    if (context != nullptr) redisAsyncFree(context);
    scheduleReconnect();
    return;
  }
  if (RedisLoopAdapter::attach(loop_, context) == nullptr) {
    redisAsyncFree(context);
    scheduleReconnect();
    return;
  }
  context_ = context;
  context_->data = this;
  redisAsyncSetConnectCallback(context_, &RedisLink::handleConnect);  // asks for EPOLLOUT
  redisAsyncSetDisconnectCallback(context_, &RedisLink::handleDisconnect);
  connectTimeout_ = loop_.runAfter(endpoint_.connectTimeout, [this] {
    connectTimeout_ = 0;
    if (!connected_) drop("connect timed out");
  });
}

void RedisLink::handleConnect(const redisAsyncContext* context, int status) {
  RedisLink* self = of(context);
  if (self == nullptr) return;
  if (status != REDIS_OK) {
    // hiredis frees the context when this returns.
    spdlog::debug("redis: connect to {}:{} failed: {}", self->endpoint_.host, self->endpoint_.port,
                  context->errstr);
    self->context_ = nullptr;
    self->lost(false, context->errstr);
    return;
  }
  self->connected_ = true;
  if (self->connectTimeout_ != 0) self->loop_.cancelTimer(std::exchange(self->connectTimeout_, 0));
  // onUp leaves hiredis's stack first: it may free this context.
  self->notifyTimer_ = self->loop_.runAfter(net::Clock::duration::zero(), [self] {
    self->notifyTimer_ = 0;
    if (!self->connected_ || self->context_ == nullptr) return;
    self->up_ = true;
    self->attempts_ = 0;
    ++self->connects_;
    spdlog::info("redis: connected to {}:{}", self->endpoint_.host, self->endpoint_.port);
    self->onUp_();  // may destroy *self: nothing after this
  });
}

void RedisLink::handleDisconnect(const redisAsyncContext* context, int /*status*/) {
  RedisLink* self = of(context);
  if (self == nullptr) return;
  // hiredis frees the context when this returns; its pending callbacks already ran.
  self->context_ = nullptr;
  const bool wasUp = std::exchange(self->up_, false);
  self->lost(wasUp, context->errstr);
}

void RedisLink::drop(const char* why) {
  if (context_ == nullptr) return;
  redisAsyncContext* context = std::exchange(context_, nullptr);
  const bool wasUp = std::exchange(up_, false);
  context->onDisconnect = nullptr;  // reported below, once
  auto alive = alive_;
  redisAsyncFree(context);  // runs the owner's pending callbacks with a null reply
  if (*alive) lost(wasUp, why);
}

void RedisLink::lost(bool wasUp, const char* why) {
  connected_ = false;
  cancelTimers();
  if (wasUp) {
    spdlog::warn("redis: link to {}:{} lost: {}", endpoint_.host, endpoint_.port,
                 why != nullptr ? why : "");
  }
  scheduleReconnect();
  if (wasUp) {
    notifyTimer_ = loop_.runAfter(net::Clock::duration::zero(), [this] {
      notifyTimer_ = 0;
      onDown_();  // may destroy *this
    });
  }
}

void RedisLink::scheduleReconnect() {
  if (reconnectTimer_ != 0) return;
  const double cap = static_cast<double>(endpoint_.maxBackoff.count());
  double delay = static_cast<double>(endpoint_.initialBackoff.count());
  for (int i = 0; i < attempts_ && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  ++attempts_;
  delay *= std::uniform_real_distribution<double>(0.8, 1.2)(random_);
  reconnectTimer_ =
      loop_.runAfter(std::chrono::microseconds(static_cast<std::int64_t>(delay * 1000)), [this] {
        reconnectTimer_ = 0;
        connect();
      });
}

void RedisLink::cancelTimers() {
  for (net::TimerId* id : {&reconnectTimer_, &connectTimeout_, &notifyTimer_}) {
    if (*id != 0) loop_.cancelTimer(std::exchange(*id, 0));
  }
}

}  // namespace classchat::hub
