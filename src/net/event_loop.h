// One epoll reactor, run by exactly one thread.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "net/fd.h"
#include "net/timer_queue.h"

namespace classchat::net {

// Something registered with an EventLoop that reacts to readiness events.
class IoHandler {
 public:
  virtual ~IoHandler() = default;
  // `events` is the epoll mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP...).
  virtual void handleEvent(std::uint32_t events) = 0;
};

// The reactor: waits on epoll, runs tasks posted by other threads, fires timers and
// calls before-sleep hooks once per iteration (where output is flushed).
//
// Thread-safety: post(), quit() and isInLoopThread() may be called from any thread.
// Everything else may be called from the loop's thread while run() runs, or from any one
// thread while it does not (before it starts, or after it returned and the thread that ran
// it was joined). Debug builds check this at the entry points (assertInLoopThread).
//
// One iteration:
//   epoll_wait -> run posted tasks -> dispatch I/O events -> fire timers -> hooks.
// Posted tasks run before I/O so that work posted before a peer's bytes arrived (for
// example, "bob registered" posted by another loop) is seen when those bytes are handled.
class EventLoop {
 public:
  using Task = std::function<void()>;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs until quit(). Must be called from the thread that will own the loop.
  void run();
  // Thread-safe. Makes run() return after the current iteration.
  void quit();

  // Thread-safe. Queues `task` to run on the loop thread. Wake-ups are coalesced: at
  // most one eventfd write per loop iteration however many tasks are posted.
  void post(Task task);

  // Registers, changes or removes interest in `fd`; `handler` must outlive registration.
  // add() and modify() return false (errno set) when the kernel refuses, e.g. out of
  // memory; they never throw, so the caller decides what the failure ends (on the network
  // path, the one connection concerned).
  [[nodiscard]] bool add(int fd, std::uint32_t events, IoHandler* handler);
  [[nodiscard]] bool modify(int fd, std::uint32_t events, IoHandler* handler);
  void remove(int fd);

  TimerId runAfter(Clock::duration delay, std::function<void()> callback);
  void cancelTimer(TimerId id);

  // Called at the end of every iteration, in registration order.
  void addBeforeSleepHook(std::function<void()> hook);

  // True on the thread running run(), and on any thread while the loop is not running.
  bool isInLoopThread() const;
  // Aborts a debug build when called off the loop's thread (as muduo's does); compiled out
  // with NDEBUG, since it guards the hot path (every send).
  void assertInLoopThread() const;

  // 64 KiB of scratch space for reads on this loop; contents are valid until the next read.
  char* readBuffer() { return readBuffer_.data(); }
  std::size_t readBufferSize() const { return readBuffer_.size(); }

  std::uint64_t iterations() const { return iterations_; }
  // Thread-safe. Tasks posted and not yet taken by the loop (for /metrics).
  std::size_t pendingTaskCount();

 private:
  class Wakeup;
  void runPendingTasks();

  Fd epoll_;
  Fd wakeFd_;
  std::unique_ptr<Wakeup> wakeHandler_;
  std::vector<epoll_event> events_;
  std::vector<char> readBuffer_;
  TimerQueue timers_;
  std::vector<std::function<void()>> beforeSleep_;

  std::mutex mutex_;
  std::vector<Task> pending_;   // guarded by mutex_
  bool wakeupPending_ = false;  // guarded by mutex_

  std::atomic<bool> quit_{false};
  std::atomic<std::thread::id> owner_{};
  std::uint64_t iterations_ = 0;
};

}  // namespace classchat::net
