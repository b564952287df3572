// Regression test for a lost wake-up: a task posted while the loop was between taking its
// queue and dispatching I/O had its eventfd write swallowed, and the loop slept with the
// task queued. Ping-pong posting lands exactly in that window.
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "net/event_loop.h"

namespace classchat::net {
namespace {

// Wakes a stuck loop through ordinary I/O, so a failing run ends instead of hanging.
class PipeKick final : public IoHandler {
 public:
  PipeKick() { EXPECT_EQ(::pipe(fds_), 0); }
  ~PipeKick() override {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  void watch(EventLoop& loop) { ASSERT_TRUE(loop.add(fds_[0], EPOLLIN, this)); }
  void kick() { ASSERT_EQ(::write(fds_[1], "x", 1), 1); }
  void handleEvent(std::uint32_t) override {
    char byte;
    [[maybe_unused]] ssize_t n = ::read(fds_[0], &byte, 1);
  }

 private:
  int fds_[2];
};

TEST(EventLoopWakeup, PingPongPostsAreNeverLost) {
  EventLoop loop;
  PipeKick kick;
  kick.watch(loop);
  std::thread thread([&] { loop.run(); });
  constexpr int kRounds = 20000;
  int lost = 0;
  for (int i = 0; i < kRounds && lost == 0; ++i) {
    std::promise<void> ran;
    std::future<void> done = ran.get_future();
    loop.post([&ran] { ran.set_value(); });
    if (done.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      ++lost;
      kick.kick();  // epoll_ctl and the pipe work from any thread
      done.wait();
    }
  }
  loop.quit();
  kick.kick();
  thread.join();
  EXPECT_EQ(lost, 0) << "a posted task waited for an unrelated wake-up";
}

}  // namespace
}  // namespace classchat::net
