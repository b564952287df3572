// A private redis-server for unit tests: its own port on 127.0.0.1, no persistence.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace classchat::hub::testing {

// Starts `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no` on a free port
// and waits until it answers PING. The tests FAIL (never skip) when redis-server is
// missing: scripts/install-deps.sh installs it. Not thread-safe; used by the test's thread.
class RedisServerProcess {
 public:
  RedisServerProcess();  // starts it; check running()
  ~RedisServerProcess();
  RedisServerProcess(const RedisServerProcess&) = delete;
  RedisServerProcess& operator=(const RedisServerProcess&) = delete;

  std::uint16_t port() const { return port_; }
  bool running() const { return pid_ > 0; }

  // SIGTERM (stop) or SIGKILL (kill), then waits for it; then start() again on the same
  // port. start() returns whether it answers PING within 10 s.
  void stop();
  void kill();
  bool start();
  // SIGSTOP / SIGCONT: a silent peer whose sockets stay open.
  void pause();
  void resume();

  // One command over a fresh blocking connection; the reply's first line, or for a bulk
  // string its contents ("" and a test failure when it cannot reach the server).
  std::string command(const std::vector<std::string>& argv) const;

 private:
  void signalAndWait(int signal);

  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace classchat::hub::testing
