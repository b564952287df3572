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
  // Thread-safe. Like post(), for work that may be dropped (frames bound for this loop):
  // refused, false and counted in refusedPosts(), when the tasks already queued plus
  // `bytes` (what this task holds) would pass setMaxPendingBytes(). post() is never
  // refused: it carries control work (directory updates, wake-ups, shutdown) that must not
  // be lost and whose volume follows connection events, not traffic.
  bool tryPost(Task task, std::size_t bytes);
  // Bounds what tryPost() queues; 0 (the default) means no bound. Call before run().
  void setMaxPendingBytes(std::size_t bytes) { maxPendingBytes_ = bytes; }
  // Thread-safe. Bytes held by queued tasks that are not yet run, and tryPost() refusals.
  std::size_t pendingBytes() const;
  std::uint64_t refusedPosts() const { return refusedPosts_.load(std::memory_order_relaxed); }

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

  mutable std::mutex mutex_;
  std::vector<Task> pending_;     // guarded by mutex_
  std::size_t pendingBytes_ = 0;  // guarded by mutex_; what tryPost() charged
  bool wakeupPending_ = false;    // guarded by mutex_
  std::size_t maxPendingBytes_ = 0;
  std::atomic<std::uint64_t> refusedPosts_{0};

  std::atomic<bool> quit_{false};
  std::atomic<std::thread::id> owner_{};
  std::uint64_t iterations_ = 0;
};

}  // namespace classchat::net
