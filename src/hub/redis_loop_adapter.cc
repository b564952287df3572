#include "hub/redis_loop_adapter.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

namespace classchat::hub {

RedisLoopAdapter* RedisLoopAdapter::attach(net::EventLoop& loop, redisAsyncContext* context) {
  if (context->ev.data != nullptr) return nullptr;
  // Registered with no interest yet: hiredis asks for EPOLLOUT to learn when the connect
  // completes. Errors and hang-ups are reported whatever the mask.
  auto* adapter = new RedisLoopAdapter(loop, context);
  if (!loop.add(context->c.fd, 0, adapter)) {
    delete adapter;
    return nullptr;
  }
  context->ev.data = adapter;
  context->ev.addRead = &RedisLoopAdapter::addRead;
  context->ev.delRead = &RedisLoopAdapter::delRead;
  context->ev.addWrite = &RedisLoopAdapter::addWrite;
  context->ev.delWrite = &RedisLoopAdapter::delWrite;
  context->ev.cleanup = &RedisLoopAdapter::cleanup;
  return adapter;
}

RedisLoopAdapter::RedisLoopAdapter(net::EventLoop& loop, redisAsyncContext* context)
    : loop_(loop), context_(context), fd_(context->c.fd) {}

void RedisLoopAdapter::handleEvent(std::uint32_t events) {
  ++dispatching_;
  // An error or hang-up goes to the read side: hiredis reads the EOF or checks the
  // socket's error (while connecting) and frees the context, calling cleanup().
  if (context_ != nullptr && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) {
    ++readEvents_;
    lastRead_ = net::Clock::now();
    redisAsyncHandleRead(context_);
  }
  if (context_ != nullptr && (events & EPOLLOUT) != 0) {
    ++writeEvents_;
    redisAsyncHandleWrite(context_);
  }
  --dispatching_;
  if (context_ == nullptr && dispatching_ == 0) delete this;
}

void RedisLoopAdapter::setInterest(std::uint32_t interest) {
  if (context_ == nullptr || interest == interest_) return;
  if (!loop_.modify(fd_, interest, this)) {
    // Out of kernel memory: the link cannot work. Closing the socket makes the next
    // event (or the owner's timeout) end the context through hiredis's usual path.
    spdlog::warn("redis: epoll_ctl failed for fd {}; dropping the link", fd_);
    ::shutdown(fd_, SHUT_RDWR);
    return;
  }
  interest_ = interest;
}

void RedisLoopAdapter::addRead(void* self) {
  auto* a = static_cast<RedisLoopAdapter*>(self);
  a->setInterest(a->interest_ | EPOLLIN);
}
void RedisLoopAdapter::delRead(void* self) {
  auto* a = static_cast<RedisLoopAdapter*>(self);
  a->setInterest(a->interest_ & ~std::uint32_t{EPOLLIN});
}
void RedisLoopAdapter::addWrite(void* self) {
  auto* a = static_cast<RedisLoopAdapter*>(self);
  a->setInterest(a->interest_ | EPOLLOUT);
}
void RedisLoopAdapter::delWrite(void* self) {
  auto* a = static_cast<RedisLoopAdapter*>(self);
  a->setInterest(a->interest_ & ~std::uint32_t{EPOLLOUT});
}

void RedisLoopAdapter::cleanup(void* self) {
  auto* a = static_cast<RedisLoopAdapter*>(self);
  // hiredis closes the socket right after this returns (redisFree).
  a->loop_.remove(a->fd_);
  a->context_ = nullptr;
  if (a->dispatching_ == 0) delete a;
}

}  // namespace classchat::hub
