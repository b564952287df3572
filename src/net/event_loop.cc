#include "net/event_loop.h"

#include <sys/eventfd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "net/die_with_errno.h"

namespace classchat::net {
namespace {

constexpr std::size_t kMaxEventsPerWait = 1024;
constexpr std::size_t kReadBufferBytes = 64 * 1024;
// simdjson may read up to 64 bytes past a JSON text; keep the scratch readable past its end.
constexpr std::size_t kReadBufferPadding = 64;

}  // namespace

// Marks the eventfd in epoll's results. It is drained by run() before the task queue is
// taken, not here: draining after the queue was taken would swallow the wake-up of a task
// posted in between, and the loop would sleep with that task queued.
class EventLoop::Wakeup final : public IoHandler {
 public:
  void handleEvent(std::uint32_t) override {}
};

EventLoop::EventLoop()
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      wakeFd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      events_(kMaxEventsPerWait),
      readBuffer_(kReadBufferBytes + kReadBufferPadding) {
  if (!epoll_.valid()) dieWithErrno("epoll_create1");
  if (!wakeFd_.valid()) dieWithErrno("eventfd");
  wakeHandler_ = std::make_unique<Wakeup>();
  if (!add(wakeFd_.get(), EPOLLIN, wakeHandler_.get())) dieWithErrno("epoll_ctl(eventfd)");
}

EventLoop::~EventLoop() = default;

bool EventLoop::isInLoopThread() const {
  const std::thread::id owner = owner_.load(std::memory_order_acquire);
  return owner == std::thread::id{} || owner == std::this_thread::get_id();
}

void EventLoop::assertInLoopThread() const {
  assert(isInLoopThread());
}

void EventLoop::run() {
  assertInLoopThread();
  owner_.store(std::this_thread::get_id(), std::memory_order_release);
  while (!quit_.load(std::memory_order_acquire)) {
    int timeout = timers_.millisecondsUntilNext(Clock::now());
    const int n =
        ::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()), timeout);
    if (n < 0 && errno != EINTR) dieWithErrno("epoll_wait");
    ++iterations_;
    for (int i = 0; i < n; ++i) {
      if (events_[i].data.ptr == wakeHandler_.get()) {
        std::uint64_t count;
        [[maybe_unused]] ssize_t drained = ::read(wakeFd_.get(), &count, sizeof count);
        break;
      }
    }
    runPendingTasks();
    for (int i = 0; i < n; ++i) {
      static_cast<IoHandler*>(events_[i].data.ptr)->handleEvent(events_[i].events);
    }
    timers_.runExpired(Clock::now());
    for (auto& hook : beforeSleep_) hook();
  }
  // Not running any more: whoever joins this thread may tear the loop's objects down.
  owner_.store(std::thread::id{}, std::memory_order_release);
}

void EventLoop::quit() {
  quit_.store(true, std::memory_order_release);
  post([] {});  // Wake the loop so it notices.
}

std::size_t EventLoop::pendingTaskCount() {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

void EventLoop::post(Task task) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(task));
    wake = !std::exchange(wakeupPending_, true);
  }
  if (wake) {
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wakeFd_.get(), &one, sizeof one);
  }
}

bool EventLoop::tryPost(Task task, std::size_t bytes) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (maxPendingBytes_ != 0 && pendingBytes_ + bytes > maxPendingBytes_) {
      refusedPosts_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    pendingBytes_ += bytes;
    pending_.push_back(std::move(task));
    wake = !std::exchange(wakeupPending_, true);
  }
  if (wake) {
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wakeFd_.get(), &one, sizeof one);
  }
  return true;
}

std::size_t EventLoop::pendingBytes() const {
  std::lock_guard lock(mutex_);
  return pendingBytes_;
}

void EventLoop::runPendingTasks() {
  std::vector<Task> tasks;
  {
    std::lock_guard lock(mutex_);
    tasks.swap(pending_);
    // Taken tasks run right below; their bytes leave the bound now.
    pendingBytes_ = 0;
    wakeupPending_ = false;
  }
  for (auto& task : tasks) task();
}

bool EventLoop::add(int fd, std::uint32_t events, IoHandler* handler) {
  assertInLoopThread();
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EventLoop::modify(int fd, std::uint32_t events, IoHandler* handler) {
  assertInLoopThread();
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::remove(int fd) {
  assertInLoopThread();
  // Fails only for a descriptor that is not registered, which is what the caller wants.
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

TimerId EventLoop::runAfter(Clock::duration delay, std::function<void()> callback) {
  assertInLoopThread();
  return timers_.add(Clock::now() + delay, std::move(callback));
}

void EventLoop::cancelTimer(TimerId id) {
  assertInLoopThread();
  timers_.cancel(id);
}

void EventLoop::addBeforeSleepHook(std::function<void()> hook) {
  assertInLoopThread();
  beforeSleep_.push_back(std::move(hook));
}

}  // namespace classchat::net
