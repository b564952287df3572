#include "net/event_loop.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net_test_support.h"

namespace classchat::net {
namespace {

using std::chrono::milliseconds;

using testing::LoopThread;
using testing::runOnLoop;

TEST(EventLoop, PostedTaskRunsOnTheLoopThread) {
  EventLoop loop;
  LoopThread thread(loop);
  const auto [id, inLoop] = runOnLoop(
      loop, [&] { return std::make_pair(std::this_thread::get_id(), loop.isInLoopThread()); });
  EXPECT_EQ(id, thread.id());
  EXPECT_TRUE(inLoop);
  EXPECT_FALSE(loop.isInLoopThread());
}

TEST(EventLoop, TasksFromEachThreadRunInPostOrder) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  EventLoop loop;
  LoopThread thread(loop);
  // Touched only on the loop thread.
  std::vector<std::vector<int>> seen(kThreads);
  int total = 0;
  std::promise<void> allDone;
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        loop.post([&, t, i] {
          seen[t].push_back(i);
          if (++total == kThreads * kPerThread) allDone.set_value();
        });
      }
    });
  }
  for (auto& poster : posters) poster.join();
  allDone.get_future().wait();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(seen[t].size(), static_cast<std::size_t>(kPerThread));
    for (int i = 0; i < kPerThread; ++i) ASSERT_EQ(seen[t][i], i) << "thread " << t;
  }
}

TEST(EventLoop, PostsMadeWhileTheLoopIsBusyRunInOneIteration) {
  constexpr int kPosts = 1000;
  EventLoop loop;
  LoopThread thread(loop);
  // Hold the loop inside a task while another thread posts many tasks.
  std::promise<void> release;
  std::promise<void> busy;
  loop.post([&] {
    busy.set_value();
    release.get_future().wait();
  });
  busy.get_future().wait();
  std::vector<std::uint64_t> iterationOfTask;  // written on the loop thread only
  std::promise<void> done;
  for (int i = 0; i < kPosts; ++i) {
    loop.post([&] {
      iterationOfTask.push_back(loop.iterations());
      if (iterationOfTask.size() == kPosts) done.set_value();
    });
  }
  release.set_value();
  done.get_future().wait();
  // One wake-up, one iteration: the posts were batched.
  EXPECT_EQ(iterationOfTask.front(), iterationOfTask.back());
}

TEST(EventLoop, TaskPostedByATaskRunsWithoutAnotherWakeUp) {
  EventLoop loop;
  LoopThread thread(loop);
  std::promise<std::pair<std::uint64_t, std::uint64_t>> iterations;
  loop.post([&] {
    const std::uint64_t first = loop.iterations();
    loop.post([&, first] { iterations.set_value({first, loop.iterations()}); });
  });
  const auto [first, second] = iterations.get_future().get();
  EXPECT_EQ(second, first + 1);
}

TEST(EventLoop, RunAfterFiresNoEarlierThanTheDelay) {
  EventLoop loop;
  std::promise<Clock::duration> fired;
  const auto start = Clock::now();
  loop.runAfter(milliseconds(20), [&] { fired.set_value(Clock::now() - start); });
  LoopThread thread(loop);
  EXPECT_GE(fired.get_future().get(), milliseconds(20));
}

TEST(EventLoop, TimersFireInDeadlineOrderAndCancelledOnesDoNot) {
  EventLoop loop;
  std::vector<std::string> fired;  // loop thread only, read after join
  loop.runAfter(milliseconds(30), [&] { fired.push_back("c"); });
  loop.runAfter(milliseconds(10), [&] { fired.push_back("a"); });
  const TimerId cancelled = loop.runAfter(milliseconds(20), [&] { fired.push_back("b"); });
  loop.cancelTimer(cancelled);
  loop.runAfter(milliseconds(40), [&] { loop.quit(); });
  loop.run();  // on this thread: returns when the last timer quits
  EXPECT_EQ(fired, (std::vector<std::string>{"a", "c"}));
}

TEST(EventLoop, TimerAddedByATaskWakesAnIdleLoop) {
  EventLoop loop;
  LoopThread thread(loop);
  std::promise<bool> fired;
  // The loop sleeps without a deadline; the new timer must shorten that sleep.
  loop.post(
      [&] { loop.runAfter(milliseconds(5), [&] { fired.set_value(loop.isInLoopThread()); }); });
  EXPECT_TRUE(fired.get_future().get());
}

TEST(EventLoop, BeforeSleepHooksRunAfterEachIterationInOrder) {
  EventLoop loop;
  std::vector<std::string> log;  // loop thread only while running
  loop.addBeforeSleepHook([&] { log.push_back("hook1"); });
  loop.addBeforeSleepHook([&] { log.push_back("hook2"); });
  {
    LoopThread thread(loop);
    for (int i = 0; i < 5; ++i) {
      runOnLoop(loop, [&] {
        log.push_back("task");
        return 0;
      });
    }
    thread.stop();
  }
  // Every iteration ended with both hooks, in order, and each task was followed by them.
  std::size_t hooks = 0;
  for (std::size_t i = 0; i < log.size(); ++i) {
    if (log[i] == "task") {
      ASSERT_LT(i + 2, log.size());
      EXPECT_EQ(log[i + 1], "hook1");
      EXPECT_EQ(log[i + 2], "hook2");
    } else if (log[i] == "hook1") {
      ++hooks;
      ASSERT_LT(i + 1, log.size());
      EXPECT_EQ(log[i + 1], "hook2");
    }
  }
  EXPECT_EQ(std::count(log.begin(), log.end(), "task"), 5);
  EXPECT_EQ(hooks, loop.iterations());
}

TEST(EventLoop, QuitFromAnotherThreadStopsAnIdleLoop) {
  EventLoop loop;
  std::promise<void> running;
  loop.post([&] { running.set_value(); });
  auto finished = std::async(std::launch::async, [&] { loop.run(); });
  running.get_future().wait();
  loop.quit();
  EXPECT_EQ(finished.wait_for(std::chrono::seconds(60)), std::future_status::ready);
}

TEST(EventLoop, QuitBeforeRunMakesRunReturn) {
  EventLoop loop;
  loop.quit();
  auto finished = std::async(std::launch::async, [&] { loop.run(); });
  const bool returned = finished.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  if (!returned) loop.quit();  // a second chance, so that a failure ends instead of hanging
  EXPECT_TRUE(returned) << "run() ignored a quit() made before it started";
  finished.wait();
  // The quit was noticed before the first wait: no iteration ran.
  EXPECT_EQ(loop.iterations(), 0u);
}

TEST(EventLoop, ModifyReportsAFailureInsteadOfThrowing) {
  EventLoop loop;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  struct Ignore final : IoHandler {
    void handleEvent(std::uint32_t) override {}
  } handler;
  // Never added: the kernel says ENOENT, and the caller decides what that ends.
  errno = 0;
  EXPECT_FALSE(loop.modify(fds[0], EPOLLIN, &handler));
  EXPECT_EQ(errno, ENOENT);
  ASSERT_TRUE(loop.add(fds[0], EPOLLIN, &handler));
  EXPECT_TRUE(loop.modify(fds[0], EPOLLIN | EPOLLOUT, &handler));
  loop.remove(fds[0]);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(EventLoop, IsInLoopThreadOnlyOnItsThreadWhileRunningAndAnywhereOtherwise) {
  EventLoop loop;
  EXPECT_TRUE(loop.isInLoopThread());  // not running yet: the setting-up thread may use it
  {
    LoopThread thread(loop);
    runOnLoop(loop, [] { return 0; });
    EXPECT_FALSE(loop.isInLoopThread());
  }
  EXPECT_TRUE(loop.isInLoopThread());  // run() returned and its thread was joined
}

#ifndef NDEBUG
TEST(EventLoopDeathTest, EntryPointsAbortOffTheLoopThreadInDebugBuilds) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_DEATH(
      {
        EventLoop loop;
        LoopThread thread(loop);
        runOnLoop(loop, [] { return 0; });
        loop.runAfter(milliseconds(1), [] {});  // from the wrong thread
      },
      "isInLoopThread");
}
#endif

// Reads one byte per readiness event and reports the thread it ran on.
class PipeReader final : public IoHandler {
 public:
  PipeReader() { EXPECT_EQ(::pipe(fds_), 0); }
  ~PipeReader() override {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  int readEnd() const { return fds_[0]; }
  void write(char c) { ASSERT_EQ(::write(fds_[1], &c, 1), 1); }
  void handleEvent(std::uint32_t events) override {
    char c;
    ASSERT_EQ(::read(fds_[0], &c, 1), 1);
    EXPECT_TRUE(events & EPOLLIN);
    got.set_value({c, std::this_thread::get_id()});
  }
  std::promise<std::pair<char, std::thread::id>> got;

 private:
  int fds_[2];
};

TEST(EventLoop, DispatchesReadinessToTheRegisteredHandler) {
  EventLoop loop;
  PipeReader reader;
  ASSERT_TRUE(loop.add(reader.readEnd(), EPOLLIN, &reader));
  LoopThread thread(loop);
  reader.write('x');
  const auto [c, id] = reader.got.get_future().get();
  EXPECT_EQ(c, 'x');
  EXPECT_EQ(id, thread.id());
  runOnLoop(loop, [&] {
    loop.remove(reader.readEnd());
    return 0;
  });
}

TEST(EventLoop, UnrunTasksAreReleasedWithTheLoop) {
  auto token = std::make_shared<int>(0);
  {
    EventLoop loop;
    loop.post([token] {});
    EXPECT_EQ(token.use_count(), 2);
  }
  EXPECT_EQ(token.use_count(), 1);
}

}  // namespace
}  // namespace classchat::net
