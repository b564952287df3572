// Attaches one hiredis async context to a net::EventLoop (internal to src/hub).
#pragma once

#include <hiredis/async.h>

#include <cstdint>

#include "net/event_loop.h"

namespace classchat::hub {

// The glue hiredis calls through ac->ev (addRead/delRead/addWrite/delWrite/cleanup) and
// the IoHandler the loop calls when the context's socket is ready.
//
// Lifetime: owns itself and lives exactly as long as the context. hiredis calls cleanup()
// when it frees the context (on an error, or in redisAsyncFree); the adapter then leaves
// epoll and deletes itself, but never while its own handleEvent() is on the stack (hiredis
// frees the context from inside redisAsyncHandleRead on EOF): it deletes itself when that
// call returns instead.
//
// Write batching: hiredis appends every command to its output buffer and calls addWrite,
// which only turns on EPOLLOUT interest (one epoll_ctl, and only when the mask changes).
// The buffer is written when the loop next reports the socket writable, that is at the
// next iteration's dispatch: every command issued during one iteration (by I/O handlers,
// timers, before-sleep hooks) goes out in one write(2). Interest is level-triggered;
// hiredis drops EPOLLOUT once its buffer is empty.
//
// Thread-safety: the loop's thread only.
class RedisLoopAdapter final : public net::IoHandler {
 public:
  // Registers `context`'s socket with `loop` and installs the hooks. Returns nullptr (the
  // context left as it was, still the caller's to free) when epoll refuses the socket.
  static RedisLoopAdapter* attach(net::EventLoop& loop, redisAsyncContext* context);
  // The adapter of a context it was attached to.
  static RedisLoopAdapter* of(redisAsyncContext* context) {
    return static_cast<RedisLoopAdapter*>(context->ev.data);
  }

  void handleEvent(std::uint32_t events) override;

  // Asks for EPOLLOUT after bytes were appended to the output buffer behind hiredis's back
  // (redisAppendFormattedCommand, for replies nobody waits for).
  void wantWrite() { setInterest(interest_ | EPOLLOUT); }

  // How many times the socket was written (redisAsyncHandleWrite calls) and read.
  std::uint64_t writeEvents() const { return writeEvents_; }
  std::uint64_t readEvents() const { return readEvents_; }
  // When the socket last had bytes (or an error) to read: a sign of life.
  net::Clock::time_point lastRead() const { return lastRead_; }

 private:
  RedisLoopAdapter(net::EventLoop& loop, redisAsyncContext* context);
  ~RedisLoopAdapter() override = default;

  static void addRead(void* self);
  static void delRead(void* self);
  static void addWrite(void* self);
  static void delWrite(void* self);
  static void cleanup(void* self);
  void setInterest(std::uint32_t interest);

  net::EventLoop& loop_;
  redisAsyncContext* context_;  // nullptr once hiredis freed it
  int fd_;
  std::uint32_t interest_ = 0;
  int dispatching_ = 0;  // > 0 while handleEvent() is on the stack
  std::uint64_t writeEvents_ = 0;
  std::uint64_t readEvents_ = 0;
  net::Clock::time_point lastRead_ = net::Clock::now();
};

}  // namespace classchat::hub
